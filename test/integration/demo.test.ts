/**
 * `llm-health demo` (README.md) end to end: the real command as a child process. It prints the
 * dashboard URL, the coordinator serves the whole fleet, an injected failure is detected,
 * restarted and recovered, and Ctrl-C (SIGINT) stops everything with exit 0, leaving no
 * emulator, supervisor or agent process and no temp dir behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const CLI = new URL('../../cli/main.js', import.meta.url).pathname;

let child: ChildProcess | null = null;

after(async () => {
  // a failed assertion must not leave a demo (and its fleet) running
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGINT');
    const done = await Promise.race([new Promise((r) => child!.once('exit', () => r(true))), sleep(15_000, false, { ref: false })]);
    if (!done) child.kill('SIGKILL');
  }
});

async function waitFor<T>(what: string, timeoutMs: number, check: () => T | Promise<T>, lines?: string[]): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lines ? `; demo output so far:\n${lines.join('\n')}` : ''}`);
    await sleep(100);
  }
}

interface Proc {
  pid: number;
  args: string[];
}

/** Live (not zombie) processes with their argv: /proc where there is one, else ps. */
function processes(): Proc[] {
  if (existsSync('/proc/self/cmdline')) {
    const out: Proc[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state === 'Z' || state === 'X') continue;
        out.push({ pid: Number(name), args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        // exited while we looked
      }
    }
    return out;
  }
  return execFileSync('ps', ['-axo', 'pid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !m[2]!.startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), args: m[3]!.split(/\s+/) }));
}

/** Processes the demo started: anything naming its temp dir, and emulators on its ports. */
function demoProcesses(dir: string, ports: Set<number>): Proc[] {
  return processes().filter((p) => {
    if (p.args.some((a) => a.includes(dir))) return true;
    const i = p.args.indexOf('--port');
    return p.args.includes('emulate') && i >= 0 && ports.has(Number(p.args[i + 1]));
  });
}

test('demo: dashboard, whole fleet, chaos detected → restarted → recovered, SIGINT leaves nothing behind', { timeout: 90_000 }, async () => {
  const startedAt = Date.now();
  child = spawn(process.execPath, [CLI, 'demo', '--duration', '40s', '--chaos-every', '8s', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => lines.push(`[stderr] ${l}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));

  // --- the dashboard line, exactly as docs/cli.md has it, and a dashboard behind it
  const dashboard = await waitFor('the Dashboard line', 30_000, () => lines.map((l) => /^Dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/)$/.exec(l)).find(Boolean), lines);
  const base = dashboard[1]!.replace(/\/$/, '');
  const page = await fetch(dashboard[1]!);
  assert.equal(page.status, 200, 'GET / answers 200');
  assert.match(await page.text(), /<html|<!doctype/i);

  // what the demo runs, so the end can check that none of it is left
  const dir = (await waitFor('the Files line', 5000, () => lines.map((l) => /^Files: (\S+)/.exec(l)).find(Boolean), lines))[1]!;
  assert.ok(existsSync(dir), 'the temp dir exists while the demo runs');
  const ports = new Set(lines.filter((l) => /^ {2}gpu-[abc] /.test(l)).flatMap((l) => [...l.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]))));
  assert.equal(ports.size, 12, `12 emulator ports listed (3 hosts × llama, qwen primary + fallback, ollama); got ${[...ports].join(', ')}`);

  // --- the whole fleet at the coordinator
  type Fleet = { hosts: { id: string; connected: boolean; services: { name: string; state: string }[] }[] };
  const fleet = await waitFor('three hosts with three services each', 20_000, async () => {
    const res = await fetch(`${base}/api/v1/fleet`).catch(() => null);
    if (!res?.ok) return null;
    const f = (await res.json()) as Fleet;
    return f.hosts.length === 3 && f.hosts.every((h) => h.services.length === 3) ? f : null;
  }, lines);
  assert.deepEqual(fleet.hosts.map((h) => h.id).sort(), ['gpu-a', 'gpu-b', 'gpu-c']);
  for (const h of fleet.hosts) assert.deepEqual(h.services.map((s) => s.name).sort(), ['llama-vision', 'ollama', 'qwen-vl'], `${h.id}'s services`);

  // --- the printed commands work as pasted, with the printed token
  const tokenLine = lines.find((l) => l.startsWith("Try, with this demo's admin token (export LLM_HEALTH_TOKEN="));
  assert.ok(tokenLine, 'an admin token is printed');
  const adminToken = /LLM_HEALTH_TOKEN=([^)\s]+)\)/.exec(tokenLine!)![1]!;
  const pasted = (prefix: string) => {
    const line = lines.find((l) => l.startsWith(`  npx llm-health ${prefix}`));
    assert.ok(line, `a ready-to-paste ${prefix} line`);
    const argv = [...line!.replace(/^ {2}npx llm-health /, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
    return spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LLM_HEALTH_TOKEN: adminToken } });
  };
  const silence = pasted('silence add');
  assert.equal(silence.status, 0, `${silence.stdout}${silence.stderr}`);
  const silences = (await (await fetch(`${base}/api/v1/silences`)).json()) as { silences: { comment: string }[] };
  assert.ok(silences.silences.some((x) => x.comment === 'trying silences'), 'the silence is stored');
  const maintenance = pasted('maintenance on');
  assert.equal(maintenance.status, 0, `${maintenance.stdout}${maintenance.stderr}`);
  const restart = pasted('restart');
  assert.equal(restart.status, 0, `${restart.stdout}${restart.stderr}`);
  assert.match(restart.stdout, /succeeded: 3 healthy/);

  // --- an injected failure, then a restart and a recovery of that service, in that order
  const story = await waitFor('a chaos injection followed by a restart and a recovery line', 45_000, () => {
    for (const [i, l] of lines.entries()) {
      const m = /^\[chaos\] (gpu-[abc]\/[a-z-]+): (?!primary)/.exec(l);
      if (!m) continue;
      const who = m[1]!.replace('/', '\\/');
      const rest = lines.slice(i + 1);
      const r = rest.findIndex((x) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\s+${who}\\s+restart (started|succeeded)`).test(x));
      if (r < 0) continue;
      const h = rest.slice(r + 1).findIndex((x) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\s+${who}\\s+\\S+ -> healthy`).test(x));
      if (h >= 0) return { chaos: l, restart: rest[r]!, recovered: rest[r + 1 + h]! };
    }
    return null;
  }, lines);
  assert.ok(story.restart && story.recovered);

  // pids the demo's servers had: those chaos hit and those restarts started
  const { events } = (await (await fetch(`${base}/api/v1/events?since=0&limit=10000`)).json()) as { events: { type: string; data?: { properties?: { mainPid?: number } } }[] };
  const pids = new Set<number>([
    ...events.filter((e) => e.type === 'restart_succeeded').map((e) => e.data?.properties?.mainPid ?? 0),
    ...lines.flatMap((l) => [...l.matchAll(/^\[chaos\] .*?pid (\d+)/g)].map((m) => Number(m[1]))),
  ].filter((p) => p > 0));
  assert.ok(pids.size > 0, 'saw at least one emulator pid');
  const running = demoProcesses(dir, ports);
  assert.equal(running.filter((p) => p.args.includes('agent')).length, 3, 'while running: 3 agent processes are visible');
  assert.ok(running.filter((p) => p.args.includes('emulate')).length >= 10, 'while running: the emulators are visible (one may be mid-restart)');

  // --- Ctrl-C: exit 0 within 15 s, nothing left
  assert.equal(child.exitCode, null, 'the demo still runs (before --duration)');
  const sigintAt = Date.now();
  child.kill('SIGINT');
  const result = await Promise.race([exited, sleep(15_000, null, { ref: false })]);
  assert.ok(result, `the demo exits within 15 s of SIGINT; output:\n${lines.slice(-30).join('\n')}`);
  assert.deepEqual(result, { code: 0, signal: null }, `exit 0 after SIGINT; output tail:\n${lines.slice(-20).join('\n')}`);
  assert.ok(Date.now() - sigintAt < 15_000);
  assert.ok(lines.some((l) => /^\[demo\] Ctrl-C: stopping/.test(l)), 'says it is stopping');

  const left = demoProcesses(dir, ports);
  assert.deepEqual(left.map((p) => `${p.pid} ${p.args.join(' ')}`), [], 'no emulator, supervisor or agent of the demo is left');
  const alive = processes().filter((p) => pids.has(p.pid) && p.args.includes('emulate'));
  assert.deepEqual(alive.map((p) => p.pid), [], 'no emulator pid the demo ran is alive');
  assert.ok(!existsSync(dir), 'the temp dir is removed');
  assert.ok(Date.now() - startedAt < 75_000, 'the test stays short');
});
