/**
 * deploy/install.sh --dry-run and --uninstall, on a DESTDIR (never the live system): a dry
 * run changes nothing and names every file a real run writes; an uninstall removes exactly
 * what the install wrote and keeps configs and state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTALL = join(ROOT, 'deploy', 'install.sh');
const PREFIX = '/opt/llm-health-install-modes-test';
const TREES = /^opt\/llm-health-install-modes-test\/lib\/llm-health\/(dist|node_modules)$/;
/** Commands that change a live system: none may run for a DESTDIR. */
const TRIPWIRES = ['systemctl', 'useradd', 'chown', 'chgrp', 'systemd-tmpfiles', 'visudo', 'sudo', 'getent'];

const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let trip: string;
before(() => {
  trip = tmp('llmh-tripwire-');
  for (const cmd of TRIPWIRES) {
    writeFileSync(join(trip, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${trip}/calls.log'\nexit 1\n`);
    chmodSync(join(trip, cmd), 0o755);
  }
});
const liveCalls = () => (existsSync(join(trip, 'calls.log')) ? readFileSync(join(trip, 'calls.log'), 'utf8').trim().split('\n') : []);

function install(destdir: string, args: string[] = []): SpawnSyncReturns<string> {
  const r = spawnSync('sh', [INSTALL, ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${trip}${delimiter}${process.env.PATH}`, DESTDIR: destdir, PREFIX },
  });
  assert.equal(r.status, 0, `install.sh ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every file (and the CLI trees as one entry each) under dir: path → mode, size and content hash. */
function snapshot(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = p.slice(base.length + 1);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      out.set(`${rel}/`, (st.mode & 0o7777).toString(8));
      if (!TREES.test(rel)) snapshot(p, base, out);
    } else {
      out.set(rel, `${(st.mode & 0o7777).toString(8)} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  }
  return out;
}
/** Installed files (trees as `dir/`), relative to destdir. */
const files = (destdir: string) => [...snapshot(destdir).keys()].filter((k) => !k.endsWith('/') || TREES.test(k.slice(0, -1))).sort();
/** The paths the output says it would install or remove, relative to destdir. */
const named = (out: string, verb: string, destdir: string) =>
  [...out.matchAll(new RegExp(`^install\\.sh: would ${verb} (\\S+)`, 'gm'))].map((m) => m[1]!.slice(destdir.length + 1)).sort();

test('--dry-run into an empty DESTDIR changes nothing and names every file a real install writes', () => {
  const dry = tmp('llmh-destdir-dry-');
  const r = install(dry, ['--dry-run']);
  assert.deepEqual(readdirSync(dry), [], 'the dry run wrote something');
  assert.match(r.stdout, /--dry-run: nothing was changed/);
  const real = tmp('llmh-destdir-real-');
  install(real);
  assert.deepEqual(named(r.stdout, 'install', dry), files(real));
  assert.deepEqual(liveCalls(), []);
});

test('--dry-run over an existing install changes nothing, not even an edited config or a foreign unit', () => {
  const dest = tmp('llmh-destdir-again-');
  install(dest);
  writeFileSync(join(dest, 'etc/llm-health/agent.yaml'), `${readFileSync(join(dest, 'etc/llm-health/agent.yaml'), 'utf8')}# mine\n`);
  writeFileSync(join(dest, 'etc/systemd/system/llm-health-check.timer'), '[Timer]\nOnCalendar=hourly\n');
  const before = snapshot(dest);
  const r = install(dest, ['--dry-run']);
  assert.deepEqual(snapshot(dest), before);
  assert.match(r.stdout, /would install \S+\/etc\/llm-health\/agent\.yaml\.new /);
  assert.match(r.stderr, /llm-health-check\.timer was not installed by llm-health .*would save it as \S+\.orig/);
  assert.match(r.stdout, /generated the polkit file from the units of \S+agent\.yaml/);
});

test('--uninstall removes exactly what the install wrote and keeps configs, state and foreign files', () => {
  const dest = tmp('llmh-destdir-uninstall-');
  mkdirSync(join(dest, 'var/lib/llm-health/spool'), { recursive: true });
  writeFileSync(join(dest, 'var/lib/llm-health/spool/events.log'), 'state\n');
  mkdirSync(join(dest, 'etc/systemd/system'), { recursive: true });
  writeFileSync(join(dest, 'etc/systemd/system/ollama.service'), '[Service]\n');
  const preexisting = files(dest);
  install(dest);
  install(dest); // a second run adds the *.new versions of kept configs
  const installed = files(dest).filter((f) => !preexisting.includes(f));
  const configs = installed.filter((f) => f.startsWith('etc/llm-health/'));
  assert.ok(configs.includes('etc/llm-health/agent.yaml') && configs.includes('etc/llm-health/agent.env'), configs.join(' '));

  const dryBefore = snapshot(dest);
  const dry = install(dest, ['--uninstall', '--dry-run']);
  assert.deepEqual(snapshot(dest), dryBefore, '--uninstall --dry-run changed something');

  const r = install(dest, ['--uninstall']);
  const left = files(dest);
  assert.deepEqual(left.sort(), [...preexisting, ...configs].sort(), 'left behind or removed too much');
  assert.equal(readFileSync(join(dest, 'var/lib/llm-health/spool/events.log'), 'utf8'), 'state\n');
  const removed = [...r.stdout.matchAll(/^install\.sh: removed (\S+)/gm)].map((m) => m[1]!.slice(dest.length + 1));
  assert.deepEqual(named(dry.stdout, 'remove', dest), removed.sort(), 'the dry run named what the uninstall removed');
  assert.match(r.stdout, /systemctl disable --now llm-health-agent\.service/);
  assert.deepEqual(liveCalls(), []);
});

test('--uninstall puts back a unit the install had replaced (saved as .orig) and leaves foreign units', () => {
  const dest = tmp('llmh-destdir-orig-');
  const unit = join(dest, 'etc/systemd/system/llm-health-check.service');
  mkdirSync(join(dest, 'etc/systemd/system'), { recursive: true });
  const seed = '[Service]\nExecStart=/home/genesis/scripts/check_llm_health.sh\n';
  writeFileSync(unit, seed);
  // --agent-only skips copying the CLI tree where the bundle is there
  install(dest, existsSync(join(ROOT, 'dist', 'llm-health-agent.mjs')) ? ['--agent-only'] : []);
  assert.match(readFileSync(unit, 'utf8'), /^# Part of llm-health/m);
  install(dest, ['--uninstall']);
  assert.equal(readFileSync(unit, 'utf8'), seed);
  assert.ok(!existsSync(`${unit}.orig`));
  writeFileSync(join(dest, 'etc/systemd/system/llm-health-agent.service'), '[Service]\n');
  const r = install(dest, ['--uninstall']);
  assert.match(r.stdout, /keeping \S+llm-health-agent\.service: not installed by llm-health/);
  assert.ok(existsSync(join(dest, 'etc/systemd/system/llm-health-agent.service')));
});
