/**
 * deploy/ (deploy/README.md): install.sh staged into a temporary DESTDIR (and never touching the live
 * system), the systemd units, the polkit rule evaluated as polkit would, sudoers, cron,
 * logrotate, the example configs, and the one-file agent dist/llm-health-agent.mjs.
 *
 * The bundle tests skip with a message when dist/llm-health-agent.mjs is absent (the bundle
 * step only warns in a plain `npm run build`); with LLMH_BUNDLE_STRICT=1 they fail instead.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentConfigSchema, parseAgentConfig } from '../../shared/config/agent-config.js';
import { coordinatorConfigSchema, parseCoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { createHarness, freePort, waitFor } from '../helpers/agent-harness.js';
import { MANAGE_UNITS, loadPolkitRule } from '../helpers/polkit.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const BUNDLE = join(ROOT, 'dist', 'llm-health-agent.mjs');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const STRICT = process.env.LLMH_BUNDLE_STRICT === '1';
/** PREFIX for staged installs: a path that exists on no real system, so the launcher's live LIB never does */
const PREFIX = '/opt/llm-health-deploy-test';
const SEED_UNITS = ['llama-vision-server.service', 'qwen3-vl-server.service'];

const read = (rel: string) => readFileSync(join(DEPLOY, rel), 'utf8');
const tmpDirs: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function which(cmd: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function bundleSkip(): string | false {
  if (existsSync(BUNDLE)) return false;
  if (STRICT) assert.fail(`${BUNDLE} is missing (LLMH_BUNDLE_STRICT=1): run LLMH_BUNDLE_STRICT=1 node scripts/bundle-agent.mjs to see why`);
  return `dist/llm-health-agent.mjs is absent (the bundle step warned during the build; LLMH_BUNDLE_STRICT=1 node scripts/bundle-agent.mjs shows why)`;
}

// ---------------------------------------------------------------------------------------------
// install.sh
// ---------------------------------------------------------------------------------------------

/**
 * Commands that change the live system. install.sh with DESTDIR must call none of them: they
 * sit first on PATH, record the call and fail.
 */
const TRIPWIRES = ['systemctl', 'useradd', 'usermod', 'groupadd', 'adduser', 'chown', 'chgrp', 'systemd-tmpfiles', 'visudo', 'loginctl', 'sudo', 'journalctl', 'getent'];
let tripDir: string;
let tripLog: string;
before(() => {
  tripDir = tmp('llmh-tripwire-');
  tripLog = join(tripDir, 'calls.log');
  for (const cmd of TRIPWIRES) {
    const p = join(tripDir, cmd);
    writeFileSync(p, `#!/bin/sh\necho "${cmd} $*" >> '${tripLog}'\nexit 1\n`);
    chmodSync(p, 0o755);
  }
});
const liveCalls = () => (existsSync(tripLog) ? readFileSync(tripLog, 'utf8').trim().split('\n').filter(Boolean) : []);

function install(destdir: string, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('sh', [join(DEPLOY, 'install.sh'), ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${tripDir}${delimiter}${process.env.PATH}`, DESTDIR: destdir, PREFIX, ...extraEnv },
  });
}

/** Every file under dir, relative, sorted; node_modules and dist content summarised by their roots. */
function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = p.slice(base.length + 1);
    if (statSync(p).isDirectory()) {
      if (/lib\/llm-health\/(node_modules|dist)$/.test(rel)) out.push(`${rel}/`);
      else listFiles(p, base, out);
    } else out.push(rel);
  }
  return out.sort();
}

const mode = (p: string) => statSync(p).mode & 0o777;
/** --agent-only skips copying the CLI tree (seconds) where a test only looks at /etc */
const quick = () => (existsSync(BUNDLE) ? ['--agent-only'] : []);

describe('install.sh into a DESTDIR', () => {
  let dest: string;
  let first: SpawnSyncReturns<string>;
  before(() => {
    dest = tmp('llmh-destdir-');
    first = install(dest);
  });

  test('stages the full layout and exits 0', () => {
    assert.equal(first.status, 0, `install.sh failed:\n${first.stdout}\n${first.stderr}`);
    const files = listFiles(dest);
    const expected = [
      'etc/llm-health/agent.env',
      'etc/llm-health/agent.yaml',
      'etc/llm-health/coordinator.env',
      'etc/llm-health/coordinator.yaml',
      'etc/llm-health/seed.yaml',
      'etc/logrotate.d/llm-health',
      'etc/polkit-1/rules.d/50-llm-health.rules',
      'etc/systemd/system/llm-health-agent.service',
      'etc/systemd/system/llm-health-check.service',
      'etc/systemd/system/llm-health-check.timer',
      'etc/systemd/system/llm-health-coordinator.service',
      'etc/tmpfiles.d/llm-health.conf',
      `${PREFIX.slice(1)}/bin/llm-health`,
      `${PREFIX.slice(1)}/lib/llm-health/dist/`,
      `${PREFIX.slice(1)}/lib/llm-health/node_modules/`,
      `${PREFIX.slice(1)}/lib/llm-health/package.json`,
      `${PREFIX.slice(1)}/share/llm-health/cron.d/llm-health`,
      `${PREFIX.slice(1)}/share/llm-health/sudoers/llm-health`,
    ];
    for (const f of expected) assert.ok(files.includes(f), `missing ${f}; staged:\n${files.join('\n')}`);
    if (existsSync(BUNDLE)) assert.ok(files.includes(`${PREFIX.slice(1)}/lib/llm-health/llm-health-agent.mjs`));
    // nothing outside etc/ and PREFIX: no var/, no usr/ when PREFIX is elsewhere
    const tops = new Set(files.map((f) => f.split('/')[0]));
    assert.deepEqual([...tops].sort(), ['etc', PREFIX.split('/')[1]!].sort());
  });

  test('never touches the live system (no systemctl, useradd, chown, ...)', () => {
    assert.deepEqual(liveCalls(), []);
    assert.match(first.stdout, /systemctl daemon-reload && systemctl enable --now llm-health-agent\.service/, 'prints the enable lines');
  });

  test('units point at PREFIX/bin/llm-health; secrets are 0600, configs 0640, launcher 0755', () => {
    const unit = readFileSync(join(dest, 'etc/systemd/system/llm-health-agent.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${PREFIX}/bin/llm-health agent -c /etc/llm-health/agent\\.yaml$`, 'm'));
    assert.equal(mode(join(dest, 'etc/llm-health/agent.env')), 0o600);
    assert.equal(mode(join(dest, 'etc/llm-health/coordinator.env')), 0o600);
    assert.equal(mode(join(dest, 'etc/llm-health/agent.yaml')), 0o640);
    assert.equal(mode(join(dest, PREFIX.slice(1), 'bin/llm-health')), 0o755);
    assert.equal(mode(join(dest, PREFIX.slice(1), 'share/llm-health/sudoers/llm-health')), 0o440);
    assert.match(readFileSync(join(dest, PREFIX.slice(1), 'share/llm-health/cron.d/llm-health'), 'utf8'), new RegExp(` llm-health ${PREFIX}/bin/llm-health check `));
  });

  test('the CLI tree carries production dependencies only, no tests, no source maps', () => {
    const lib = join(dest, PREFIX.slice(1), 'lib/llm-health');
    const mods = readdirSync(join(lib, 'node_modules'));
    for (const dep of ['ajv', 'better-sqlite3', 'pino', 'undici', 'ws', 'yaml', 'nanoid']) assert.ok(mods.includes(dep), `missing production dependency ${dep}`);
    for (const dev of ['typescript', 'esbuild', '.bin']) assert.ok(!mods.includes(dev), `dev dependency ${dev} was copied`);
    assert.ok(!existsSync(join(lib, 'dist/test')), 'dist/test copied');
    assert.ok(!existsSync(join(lib, 'dist/llm-health-agent.mjs')), 'bundle copied into dist/');
    assert.ok(existsSync(join(lib, 'dist/cli/main.js')));
    assert.ok(!existsSync(join(lib, 'dist/cli/main.js.map')), 'source maps copied');
  });

  test('the staged launcher runs the staged CLI', () => {
    const launcher = join(dest, PREFIX.slice(1), 'bin/llm-health');
    const v = spawnSync(launcher, ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), PKG.version);
    const c = spawnSync(launcher, ['config', 'validate', '-c', join(DEPLOY, 'examples/seed.yaml')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
  });

  test('a second run keeps existing configs (the shipped version goes to .new) and stays off the live system', () => {
    const agentYaml = join(dest, 'etc/llm-health/agent.yaml');
    const rule = join(dest, 'etc/polkit-1/rules.d/50-llm-health.rules');
    const mine = `${readFileSync(agentYaml, 'utf8')}\n# edited by the operator\n`;
    writeFileSync(agentYaml, mine);
    const myRule = readFileSync(rule, 'utf8').replace('"qwen3-vl-server.service"', '"qwen3-vl-server.service",\n    "ollama.service"');
    writeFileSync(rule, myRule);
    const second = install(dest);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(readFileSync(agentYaml, 'utf8'), mine);
    assert.equal(readFileSync(rule, 'utf8'), myRule);
    assert.equal(readFileSync(`${agentYaml}.new`, 'utf8'), read('examples/agent.yaml'));
    assert.ok(existsSync(`${rule}.new`));
    assert.ok(!existsSync(join(dest, 'etc/llm-health/seed.yaml.new')), 'unchanged configs get no .new');
    assert.deepEqual(liveCalls(), []);
  });

  test("a unit of the same name not written by llm-health (the seed's) is saved as .orig", () => {
    const unit = join(dest, 'etc/systemd/system/llm-health-check.service');
    writeFileSync(unit, '[Service]\nExecStart=/home/genesis/genesis-rebuild/scripts/check_llm_health.sh\n');
    const r = install(dest, quick());
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(`${unit}.orig`, 'utf8'), /check_llm_health\.sh/);
    assert.match(readFileSync(unit, 'utf8'), /^# Part of llm-health/m);
  });

  test('warns when agent.yaml names a unit the polkit rule does not list', () => {
    const agentYaml = join(dest, 'etc/llm-health/agent.yaml');
    writeFileSync(agentYaml, readFileSync(agentYaml, 'utf8').replace('unit: qwen3-vl-server.service', 'unit: sglang-server.service'));
    const r = install(dest, quick());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /unit sglang-server\.service .* is not listed in .*50-llm-health\.rules/);
  });
});

test('install.sh without DESTDIR (root, in a private mount namespace): creates the user and the log file, prints the systemctl lines', (t) => {
  // Live mode changes /etc, /usr/local and /var/log: it runs only where those can be replaced by
  // scratch copies inside `unshare -m` (root with mount rights), so the host stays untouched.
  if (process.getuid?.() !== 0) return t.skip('needs root (live mode is exercised inside a private mount namespace)');
  const unshare = which('unshare');
  if (!unshare) return t.skip('needs unshare (util-linux) for a private mount namespace');
  const dir = tmp('llmh-live-');
  const probe = spawnSync(unshare, ['-m', 'sh', '-c', `mkdir -p '${dir}/a' '${dir}/b' && mount --bind '${dir}/a' '${dir}/b'`], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip(`cannot bind-mount in a private mount namespace here: ${probe.stderr.trim()}`);
  const cp = spawnSync('cp', ['-a', '/etc', join(dir, 'etc')], { encoding: 'utf8' });
  if (cp.status !== 0) return t.skip(`cannot copy /etc: ${cp.stderr.trim()}`);
  mkdirSync(join(dir, 'usrlocal'));
  mkdirSync(join(dir, 'varlog'));
  mkdirSync(join(dir, 'varmail'));
  const hostHadConfig = existsSync('/etc/llm-health');
  const script = [
    'set -eu',
    `mount --bind '${dir}/etc' /etc`,
    `mount --bind '${dir}/usrlocal' /usr/local`,
    `mount --bind '${dir}/varlog' /var/log`,
    `if [ -d /var/mail ]; then mount --bind '${dir}/varmail' /var/mail; fi`,
    `sh '${join(DEPLOY, 'install.sh')}'`,
    'echo "@@user $(getent passwd llm-health)"',
    'echo "@@groups $(id -nG llm-health)"',
    'echo "@@log $(stat -c "%U %a" /var/log/llm_health_check.log)"',
    'echo "@@agent.yaml $(stat -c "%U %G %a" /etc/llm-health/agent.yaml)"',
    'echo "@@agent.env $(stat -c "%U %G %a" /etc/llm-health/agent.env)"',
    'echo "@@version $(/usr/local/bin/llm-health --version)"',
    `sh '${join(DEPLOY, 'install.sh')}' >/dev/null`,
    'echo "@@second-run ok"',
  ].join('\n');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${tripDir}-live${delimiter}${process.env.PATH}` };
  delete env.DESTDIR;
  delete env.PREFIX;
  // in live mode useradd, chown and chgrp are expected; systemctl and friends still are not
  mkdirSync(`${tripDir}-live`, { recursive: true });
  tmpDirs.push(`${tripDir}-live`);
  for (const cmd of ['systemctl', 'systemd-tmpfiles', 'loginctl', 'sudo']) {
    writeFileSync(join(`${tripDir}-live`, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${tripLog}'\nexit 1\n`);
    chmodSync(join(`${tripDir}-live`, cmd), 0o755);
  }
  const r = spawnSync(unshare, ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000, env });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const field = (k: string) => new RegExp(`^@@${k} (.*)$`, 'm').exec(r.stdout)?.[1];
  assert.match(field('user') ?? '', /^llm-health:x:\d+:\d+:[^:]*:\/var\/lib\/llm-health:\/(usr\/)?sbin\/nologin$/);
  if (spawnSync('getent', ['group', 'systemd-journal']).status === 0) assert.match(field('groups') ?? '', /\bsystemd-journal\b/);
  assert.equal(field('log'), 'llm-health 640');
  assert.equal(field('agent.yaml'), 'root llm-health 640');
  assert.equal(field('agent.env'), 'root root 600');
  assert.equal(field('version'), PKG.version);
  assert.equal(field('second-run'), 'ok');
  assert.match(r.stdout, /^ {2}systemctl daemon-reload && systemctl enable --now llm-health-agent\.service$/m);
  assert.deepEqual(liveCalls(), [], 'live mode prints the systemctl lines, it does not run them');
  assert.equal(existsSync('/etc/llm-health'), hostHadConfig, 'the host /etc was not touched');
});

test('install.sh --agent-only stages the one-file agent without coordinator or CLI tree', (t) => {
  const skip = bundleSkip();
  if (skip) return t.skip(skip);
  const dest = tmp('llmh-destdir-agent-');
  const r = install(dest, ['--agent-only']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lib = join(dest, PREFIX.slice(1), 'lib/llm-health');
  assert.ok(existsSync(join(lib, 'llm-health-agent.mjs')));
  assert.ok(!existsSync(join(lib, 'dist')) && !existsSync(join(lib, 'node_modules')));
  assert.ok(existsSync(join(dest, 'etc/systemd/system/llm-health-agent.service')));
  assert.ok(existsSync(join(dest, 'etc/systemd/system/llm-health-check.timer')));
  assert.ok(!existsSync(join(dest, 'etc/systemd/system/llm-health-coordinator.service')));
  assert.ok(!existsSync(join(dest, 'etc/llm-health/coordinator.yaml')));
  const help = spawnSync(join(dest, PREFIX.slice(1), 'bin/llm-health'), ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /one-file agent/);
  assert.deepEqual(liveCalls(), []);
});

test('install.sh rejects unknown arguments and a relative PREFIX before doing anything', () => {
  const dest = tmp('llmh-destdir-bad-');
  const a = install(dest, ['--bogus']);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /unknown argument: --bogus/);
  const b = install(dest, [], { PREFIX: 'usr/local' });
  assert.equal(b.status, 2);
  assert.deepEqual(readdirSync(dest), []);
  const h = install(dest, ['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--agent-only/);
});

test('install.sh is POSIX sh (dash -n / sh -n)', () => {
  const sh = which('dash') ?? 'sh';
  const r = spawnSync(sh, ['-n', join(DEPLOY, 'install.sh')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const text = read('install.sh');
  assert.match(text, /^#!\/bin\/sh\n/);
  assert.match(text, /^set -eu$/m);
  // shell code only: here-documents (the embedded node script, usage text) are not shell
  const shell = text.replace(/<<'?EOF'?\n[\s\S]*?\nEOF\n/g, '\n');
  const bashism = /\[\[\s|\bfunction\s+\w+|\blocal\s|\$\{[A-Za-z_]+\/\/|<<<|\bdeclare\b|\$'|\bsource\s/.exec(shell);
  assert.equal(bashism, null, `bashism in install.sh: ${bashism?.[0]}`);
});

// ---------------------------------------------------------------------------------------------
// systemd units
// ---------------------------------------------------------------------------------------------

type Ini = Map<string, Map<string, string[]>>;
function parseUnit(text: string): Ini {
  const out: Ini = new Map();
  let section: Map<string, string[]> | undefined;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (!pending && (/^\s*[#;]/.test(raw) || raw.trim() === '')) continue;
    const line = pending + raw;
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    pending = '';
    const sec = /^\[([A-Za-z]+)\]$/.exec(line.trim());
    if (sec) {
      section = new Map();
      out.set(sec[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && section, `not a unit-file line: ${JSON.stringify(line)}`);
    section.set(kv[1]!, [...(section.get(kv[1]!) ?? []), kv[2]!]);
  }
  return out;
}
const one = (ini: Ini, sec: string, key: string) => ini.get(sec)?.get(key)?.at(-1);

const SERVICES: Record<string, string> = {
  'llm-health-agent.service': '/usr/local/bin/llm-health agent -c /etc/llm-health/agent.yaml',
  'llm-health-coordinator.service': '/usr/local/bin/llm-health coordinator -c /etc/llm-health/coordinator.yaml',
  'llm-health-check.service': '/usr/local/bin/llm-health check -c /etc/llm-health/agent.yaml',
};

describe('systemd units', () => {
  for (const [name, execStart] of Object.entries(SERVICES)) {
    test(`${name}: sections, ExecStart, user and hardening`, () => {
      const ini = parseUnit(read(name));
      for (const s of ['Unit', 'Service', 'Install']) assert.ok(ini.has(s), `${name} lacks [${s}]`);
      assert.equal(one(ini, 'Service', 'ExecStart'), execStart);
      assert.equal(one(ini, 'Service', 'User'), 'llm-health');
      const expect: Record<string, string> = {
        NoNewPrivileges: 'true',
        ProtectSystem: 'strict',
        ProtectHome: 'read-only',
        PrivateTmp: 'true',
        CapabilityBoundingSet: '',
        RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
        SystemCallFilter: '@system-service',
        LockPersonality: 'true',
        ProtectKernelTunables: 'true',
        ProtectKernelModules: 'true',
        ProtectKernelLogs: 'true',
      };
      for (const [k, v] of Object.entries(expect)) assert.equal(one(ini, 'Service', k), v, `${name}: ${k}`);
      assert.equal(one(ini, 'Service', 'MemoryDenyWriteExecute'), undefined, 'MemoryDenyWriteExecute breaks the V8 JIT');
      assert.match(read(name), /MemoryDenyWriteExecute.*(JIT|V8)/, 'the unit says why MemoryDenyWriteExecute is left out');
      assert.ok(one(ini, 'Service', 'StateDirectory')?.split(/\s+/).includes('llm-health'));
      assert.equal(one(ini, 'Service', 'LogsDirectory'), 'llm-health');
      assert.ok(!/\bsudo\b/.test(one(ini, 'Service', 'ExecStart') ?? ''), 'sudo cannot work under NoNewPrivileges');
      // only the seed's log file is writable under /var/log, never the whole directory
      for (const p of ini.get('Service')!.get('ReadWritePaths') ?? []) assert.equal(p, '-/var/log/llm_health_check.log');
    });
  }

  test('agent and check keep GPU device access for nvidia-smi (no device allow-list)', () => {
    for (const name of ['llm-health-agent.service', 'llm-health-check.service']) {
      const ini = parseUnit(read(name));
      // ProtectClock implies DeviceAllow=char-rtc r, and any DeviceAllow makes the policy an allow-list
      for (const k of ['PrivateDevices', 'ProtectClock', 'DeviceAllow', 'DevicePolicy']) assert.equal(one(ini, 'Service', k), undefined, `${name}: ${k} would hide /dev/nvidia*`);
      assert.equal(one(ini, 'Service', 'SupplementaryGroups'), 'systemd-journal', `${name}: journalctl -u needs the journal group`);
    }
  });

  test('agent and coordinator restart on failure after 2s, run as Type=notify with a watchdog, read their env files', () => {
    for (const [name, env] of [['llm-health-agent.service', 'agent.env'], ['llm-health-coordinator.service', 'coordinator.env']] as const) {
      const ini = parseUnit(read(name));
      assert.equal(one(ini, 'Service', 'Restart'), 'on-failure');
      assert.equal(one(ini, 'Service', 'RestartSec'), '2s');
      assert.equal(one(ini, 'Service', 'EnvironmentFile'), `-/etc/llm-health/${env}`);
      assert.equal(one(ini, 'Install', 'WantedBy'), 'multi-user.target');
      // the daemons send READY=1 and watchdog pings through systemd-notify children
      assert.equal(one(ini, 'Service', 'Type'), 'notify', name);
      assert.equal(one(ini, 'Service', 'NotifyAccess'), 'all', name);
      assert.equal(one(ini, 'Service', 'WatchdogSec'), '30s', name);
    }
    assert.equal(one(parseUnit(read('llm-health-agent.service')), 'Service', 'StateDirectory'), 'llm-health');
  });

  test('check service is a oneshot; the timer runs it every 5 minutes like the seed', () => {
    const svc = parseUnit(read('llm-health-check.service'));
    assert.equal(one(svc, 'Service', 'Type'), 'oneshot');
    const timer = parseUnit(read('llm-health-check.timer'));
    for (const s of ['Unit', 'Timer', 'Install']) assert.ok(timer.has(s), `timer lacks [${s}]`);
    assert.equal(one(timer, 'Timer', 'OnBootSec'), '2min');
    assert.equal(one(timer, 'Timer', 'OnUnitActiveSec'), '5min');
    assert.equal(one(timer, 'Timer', 'Persistent'), 'true');
    assert.equal(one(timer, 'Timer', 'Unit'), 'llm-health-check.service');
    assert.equal(one(timer, 'Install', 'WantedBy'), 'timers.target');
  });

  test('systemd-analyze verify accepts the units (only the not-yet-installed binary may be reported)', (t) => {
    const analyze = which('systemd-analyze');
    if (!analyze) return t.skip('systemd-analyze is not installed');
    const dir = tmp('llmh-units-');
    const files = [...Object.keys(SERVICES), 'llm-health-check.timer'].map((n) => {
      writeFileSync(join(dir, n), read(n));
      return join(dir, n);
    });
    const r = spawnSync(analyze, ['verify', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' } });
    const problems = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/Command \/usr\/local\/bin\/llm-health is not executable/.test(l));
    if (problems.some((l) => /Failed to (connect|initialize|set up)|not booted|Operation not permitted/i.test(l)) && r.status !== 0) {
      return t.skip(`systemd-analyze cannot run here: ${problems.join(' | ')}`);
    }
    assert.deepEqual(problems, [], `systemd-analyze verify reported:\n${problems.join('\n')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// polkit, sudoers, cron, logrotate, tmpfiles
// ---------------------------------------------------------------------------------------------

describe('polkit rule', () => {
  const source = read('polkit/50-llm-health.rules');
  const MANAGE = MANAGE_UNITS;

  test('is valid JavaScript in the ES5 that polkit interpreters accept', () => {
    assert.doesNotThrow(() => new Function('polkit', source));
    const code = source.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    assert.doesNotMatch(code, /=>|\blet\s|\bconst\s|`|\bclass\s/, 'ES2015+ syntax in the rule');
    const dir = tmp('llmh-polkit-');
    writeFileSync(join(dir, 'rule.cjs'), `var polkit;\n${source}`);
    const r = spawnSync(process.execPath, ['--check', join(dir, 'rule.cjs')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  test('allows exactly restart and reset-failed of exactly the listed units, for user llm-health only', () => {
    const decide = loadPolkitRule(source);
    for (const unit of SEED_UNITS) {
      assert.equal(decide(MANAGE, { unit, verb: 'restart' }), 'yes', `restart ${unit}`);
      assert.equal(decide(MANAGE, { unit, verb: 'reset-failed' }), 'yes', `reset-failed ${unit}`);
      for (const verb of ['start', 'stop', 'reload', 'kill', 'set-property', 'reload-or-restart', 'try-restart']) {
        assert.equal(decide(MANAGE, { unit, verb }), 'no', `${verb} ${unit} must be refused`);
      }
      assert.equal(decide(MANAGE, { unit, verb: 'restart' }, 'mallory'), 'not_handled', 'other users are left to other rules');
    }
    for (const unit of ['sshd.service', 'llm-health-agent.service', 'llama-vision-server', 'llama-vision-server.service.d', 'polkit.service']) {
      assert.equal(decide(MANAGE, { unit, verb: 'restart' }), 'no', `restart ${unit} must be refused`);
    }
    assert.equal(decide('org.freedesktop.systemd1.manage-unit-files', { unit: SEED_UNITS[0]!, verb: 'restart' }), 'not_handled');
    assert.equal(decide('org.freedesktop.login1.reboot', {}), 'not_handled');
  });

  test('is byte for byte what `llm-health deploy polkit` generates for examples/seed.yaml', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'deploy', 'polkit', '-c', join(DEPLOY, 'examples/seed.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, source);
  });

  test("lists the same units as the example configs' unit keys", () => {
    const listed = [...source.matchAll(/^\s*"([^"]+\.service)",?\s*$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(listed, [...SEED_UNITS].sort());
    for (const f of ['examples/seed.yaml', 'examples/agent.yaml']) {
      const units = [...read(f).matchAll(/^\s*(?:-\s*)?unit:\s*(\S+)/gm)].map((m) => m[1]).sort();
      assert.deepEqual(units, [...SEED_UNITS].sort(), f);
    }
  });
});

describe('sudoers, cron, logrotate, tmpfiles', () => {
  test('sudoers: exact command lines per unit, no wildcards, names the matching agent config', () => {
    const text = read('sudoers/llm-health');
    const rules = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    for (const l of rules) assert.ok(!l.includes('*') && !l.includes('ALL=(ALL)'), `wildcard in ${l}`);
    const restart = rules.find((l) => l.includes(' restart '));
    assert.equal(restart, `llm-health ALL=(root) NOPASSWD: ${SEED_UNITS.map((u) => `/usr/bin/systemctl restart ${u}`).join(', ')}`);
    assert.match(text, /systemctl: \[sudo, -n, systemctl\]/);
  });

  test('sudoers is byte for byte what `llm-health deploy sudoers` generates for examples/seed.yaml', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'deploy', 'sudoers', '-c', join(DEPLOY, 'examples/seed.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, read('sudoers/llm-health'));
  });

  test('sudoers parses with visudo -c', (t) => {
    const visudo = which('visudo');
    if (!visudo) return t.skip('visudo is not installed');
    const r = spawnSync(visudo, ['-c', '-f', join(DEPLOY, 'sudoers/llm-health')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  test("cron: the seed's schedule as user llm-health, appending to the seed's log", () => {
    const lines = read('llm-health.cron').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.deepEqual(lines, ['*/5 * * * * llm-health /usr/local/bin/llm-health check -c /etc/llm-health/agent.yaml >> /var/log/llm_health_check.log 2>&1 || true']);
  });

  test('logrotate: both logs, weekly, 8 rotations, compressed, copytruncate (and why)', () => {
    const text = read('logrotate/llm-health');
    for (const path of ['/var/log/llm_health_check.log', '/var/log/llm-health/*.log']) {
      const block = new RegExp(`^${path.replace(/[.*]/g, '\\$&')} \\{([^}]*)\\}`, 'm').exec(text);
      assert.ok(block, `no stanza for ${path}`);
      const directives = block[1]!.split('\n').map((l) => l.trim()).filter(Boolean);
      for (const d of ['weekly', 'rotate 8', 'compress', 'missingok', 'notifempty', 'copytruncate']) assert.ok(directives.includes(d), `${path}: ${d}`);
    }
    assert.match(text, /copytruncate[\s\S]*open/i, 'says why copytruncate');
  });

  test('logrotate -d accepts the file', (t) => {
    const logrotate = which('logrotate');
    if (!logrotate) return t.skip('logrotate is not installed');
    const dir = tmp('llmh-logrotate-');
    const me = userInfo();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || String(me.gid);
    // the llm-health user does not exist on the test machine
    writeFileSync(join(dir, 'conf'), read('logrotate/llm-health').replace(/su llm-health llm-health/g, `su ${me.username} ${group}`));
    const r = spawnSync(logrotate, ['-d', '-s', join(dir, 'state'), join(dir, 'conf')], { encoding: 'utf8' });
    const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^error:/.test(l) && !/does not exist|No such file/.test(l));
    assert.deepEqual(errors, []);
  });

  test('tmpfiles creates the seed log owned by llm-health', () => {
    const lines = read('tmpfiles/llm-health.conf').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(0, 4)), [['f', '/var/log/llm_health_check.log', '0640', 'llm-health']]);
  });
});

// ---------------------------------------------------------------------------------------------
// example configs
// ---------------------------------------------------------------------------------------------

/** Every property name anywhere in a JSON schema (through anyOf branches and array items). */
function schemaKeys(schema: unknown, out = new Set<string>()): Set<string> {
  if (!schema || typeof schema !== 'object') return out;
  const s = schema as Record<string, unknown>;
  if (s.properties && typeof s.properties === 'object') {
    for (const [k, v] of Object.entries(s.properties)) {
      out.add(k);
      schemaKeys(v, out);
    }
  }
  for (const k of ['items', 'additionalProperties']) schemaKeys(s[k], out);
  for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(s[k])) for (const b of s[k] as unknown[]) schemaKeys(b, out);
  return out;
}

describe('example configs', () => {
  /** Keys of the schema that the text never shows as `key:` (commented-out lines count). */
  const undocumented = (schema: unknown, text: string) => [...schemaKeys(schema)].filter((k) => !new RegExp('(^|[\\s{,#`-])' + k + ':', 'm').test(text));

  test('agent.yaml is valid and documents every key the schema accepts', () => {
    const text = read('examples/agent.yaml');
    const cfg = parseAgentConfig('deploy/examples/agent.yaml', text, { env: { LLM_HEALTH_AGENT_TOKEN: 'test-token' } });
    assert.deepEqual(cfg.services.map((s) => s.unit), SEED_UNITS);
    assert.equal(cfg.coordinator?.spoolDir, '/var/lib/llm-health/spool');
    assert.equal(cfg.log.file, '/var/log/llm_health_check.log');
    assert.deepEqual(undocumented(agentConfigSchema, text), [], 'keys not shown in deploy/examples/agent.yaml');
  });

  test('coordinator.yaml documents every key the schema accepts', () => {
    assert.deepEqual(undocumented(coordinatorConfigSchema, read('examples/coordinator.yaml')), [], 'keys not shown in deploy/examples/coordinator.yaml');
  });

  test("agent.yaml's commented reference services are valid too", () => {
    const text = read('examples/agent.yaml').replace(/^ {2}# (- name:| {2}\w)/gm, '  $1');
    const cfg = parseAgentConfig('deploy/examples/agent.yaml (uncommented)', text, { env: { LLM_HEALTH_AGENT_TOKEN: 'test-token' } });
    assert.ok(cfg.services.length > 2, 'the reference blocks were uncommented');
    assert.ok(cfg.services.some((s) => s.kind === 'http' && s.expectBody !== undefined));
  });

  test('coordinator.yaml is the documented example with an absolute dataDir in the state directory', () => {
    const env = { GPU_A_TOKEN: 'a', ADMIN_TOKEN: 'b', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X', DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/x' };
    const cfg = parseCoordinatorConfig('deploy/examples/coordinator.yaml', read('examples/coordinator.yaml'), { env });
    assert.equal(cfg.dataDir, '/var/lib/llm-health/coordinator');
    assert.deepEqual(cfg.notify.map((n) => n.type), ['slack', 'discord', 'email', 'webhook']);
    assert.deepEqual(cfg.auth.agentTokens.map((t) => [t.token, t.agents]), [['a', ['gpu-a']]]);
  });

  test('env file templates set no secret', () => {
    for (const f of ['examples/agent.env', 'examples/coordinator.env']) {
      const active = read(f).split('\n').filter((l) => l.trim() && !l.startsWith('#'));
      assert.deepEqual(active, [], f);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// the one-file agent
// ---------------------------------------------------------------------------------------------

function runBundle(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BUNDLE, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env });
}

describe('one-file agent dist/llm-health-agent.mjs', () => {
  test('--help exits 0 and lists agent, check, config', (t) => {
    const skip = bundleSkip();
    if (skip) return t.skip(skip);
    const r = runBundle(['--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const c of ['agent', 'check', 'config']) assert.match(r.stdout, new RegExp(`^\\s+${c}\\s`, 'm'));
    assert.equal(runBundle(['--version']).stdout.trim(), PKG.version);
  });

  test('config validate -c deploy/examples/seed.yaml exits 0', (t) => {
    const skip = bundleSkip();
    if (skip) return t.skip(skip);
    const r = runBundle(['config', 'validate', '-c', 'deploy/examples/seed.yaml']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /valid agent config/);
  });

  test('is an executable node script; usage and config errors exit 2', (t) => {
    const skip = bundleSkip();
    if (skip) return t.skip(skip);
    assert.ok(readFileSync(BUNDLE, 'utf8').startsWith('#!/usr/bin/env node\n'));
    assert.ok(statSync(BUNDLE).mode & 0o111, 'executable bit');
    assert.equal(runBundle(['coordinator', '-c', 'x.yaml']).status, 2, 'coordinator is not in the one-file agent');
    const bad = runBundle(['config', 'validate', '-c', 'deploy/examples/agent.yaml'], { ...process.env, LLM_HEALTH_AGENT_TOKEN: '' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /coordinator\.token/);
  });

  test('check runs from the bundle: pino file logging works, exit 1 for a dead service', (t) => {
    const skip = bundleSkip();
    if (skip) return t.skip(skip);
    const dir = tmp('llmh-bundle-check-');
    const log = join(dir, 'logs', 'check.log');
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, `defaults: { retries: 1, timeout: 1s, retryDelay: 100ms }\ngpu: { enabled: false }\nservices:\n  - name: closed\n    kind: tcp\n    url: tcp://127.0.0.1:9\nlog:\n  file: ${log}\n`);
    const r = runBundle(['check', '-c', cfg, '--no-restart', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; services: { name: string; state: string }[] };
    assert.equal(report.ok, false);
    assert.equal(report.services[0]?.name, 'closed');
    assert.ok(existsSync(log) && readFileSync(log, 'utf8').includes('"closed"'), 'log.file written through pino.multistream');
  });
});

test('bundled check restarts a crashed server through systemctl (service-manager stand-in)', async (t) => {
  const skip = bundleSkip();
  if (skip) return t.skip(skip);
  const h = createHarness();
  try {
    const port = await freePort();
    h.emulatorUnit('llama-vision-server.service', { kind: 'llamacpp', port });
    await h.start('llama-vision-server.service');
    await waitFor(() => h.healthy(`http://127.0.0.1:${port}/health`), 10_000, 'emulator up');
    const cfg = join(h.dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `defaults: { timeout: 2s, retries: 3, retryDelay: 200ms }\ngpu: { enabled: false }\nservices:\n  - name: llama-vision\n    kind: llamacpp\n    url: http://127.0.0.1:${port}\n    unit: llama-vision-server.service\n    deepProbe: { every: 1m, timeout: 10s, vision: true }\n`,
    );
    const run = (args: string[]) => spawnSync(process.execPath, [BUNDLE, 'check', '-c', cfg, ...args], { encoding: 'utf8', timeout: 60_000, env: h.sandbox.env });
    const ok = run(['--json']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    h.sandbox.clearCalls();
    process.kill(h.sandbox.mainPid('llama-vision-server.service'), 'SIGKILL');
    await waitFor(() => h.sandbox.mainPid('llama-vision-server.service') === 0, 5000, 'unit failed');
    const down = run(['--wait', '30s']);
    assert.equal(down.status, 0, `--wait: healthy again after the restart\n${down.stdout}${down.stderr}`);
    assert.deepEqual(h.sandbox.calls().filter((argv) => argv.includes('restart')), [['restart', 'llama-vision-server.service']]);
  } finally {
    await h.cleanup();
  }
});

describe('scripts/bundle-agent.mjs', () => {
  const script = join(ROOT, 'scripts', 'bundle-agent.mjs');
  const hasEsbuild = existsSync(join(ROOT, 'node_modules', 'esbuild', 'package.json'));
  function bundle(entry: string, strict: boolean) {
    const dir = tmp('llmh-bundle-');
    const out = join(dir, 'out.mjs');
    const env: NodeJS.ProcessEnv = { ...process.env, LLMH_BUNDLE_ENTRY: entry, LLMH_BUNDLE_OUT: out, LLMH_BUNDLE_STRICT: strict ? '1' : '' };
    return { out, r: spawnSync(process.execPath, [script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env }) };
  }

  test('a failed bundle is a warning (exit 0) unless LLMH_BUNDLE_STRICT=1 (exit 1)', (t) => {
    if (!hasEsbuild) return t.skip('esbuild is not installed');
    const entry = join(tmp('llmh-entry-'), 'broken.ts');
    writeFileSync(entry, "import { nothing } from './does-not-exist.js';\nconsole.log(nothing);\n");
    const lax = bundle(entry, false);
    assert.equal(lax.r.status, 0, lax.r.stderr);
    assert.match(lax.r.stderr, /could not build[\s\S]*does-not-exist[\s\S]*WARNING/);
    assert.ok(!existsSync(lax.out));
    const strict = bundle(entry, true);
    assert.equal(strict.r.status, 1);
    assert.match(strict.r.stderr, /does-not-exist/);
  });

  test('refuses coordinator-only and native packages in the agent bundle', (t) => {
    if (!hasEsbuild) return t.skip('esbuild is not installed');
    const dir = tmp('llmh-entry-');
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, 'sqlite.ts');
    writeFileSync(entry, "import Database from 'better-sqlite3';\nconsole.log(Database);\n");
    const r = bundle(entry, true);
    assert.equal(r.r.status, 1);
    assert.match(r.r.stderr, /must not depend on "better-sqlite3"/);
  });

  test('deploy/agent-entry.ts type-checks under the project settings', (t) => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    if (!existsSync(tsc)) return t.skip('typescript is not installed');
    const r = spawnSync(tsc, ['-p', join(DEPLOY, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});
