/**
 * False restarts: an emulated vLLM server that is fine except that it stalls for 1.5 s every
 * 10 s and is busy for 4 s every 30 s (runtime modes switched on a fixed schedule), watched
 * for 2 minutes by our agent and then, on a fresh server with the same schedule, by monit.
 * Every restart here is a false one (the server never needed one): ours must be 0.
 *
 * Stall (default `--stall hang`): mode `hang` for 1.5 s, then `ok` — requests that arrive in
 * the window are never answered (a blip that loses requests). `--stall slow`: mode `slow`
 * with delayMs 1500 for 1.5 s — requests in the window are answered 1.5 s late.
 * Busy: mode `busy` (vLLM keeps /health at 200 and shows a queue that makes progress).
 *
 * npm run bench -- false-restarts [--duration 2m] [--stall hang|slow] [--no-monit]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { agentYaml, isState, spawnAgent, type AgentRun } from './lib/agent.js';
import { findMonit, MONIT_SKIP_MESSAGE, startMonit, type MonitInfo, type MonitRun } from './lib/monit.js';
import { benchArgs, fmt, machineInfo, printTable, ratio, fmtRatio, runBench, writeResult } from './lib/report.js';
import { createBenchServices, freePort, setMode, waitHealthy, type BenchServices } from './lib/services.js';

type Tool = 'ours' | 'monit';

interface Step {
  atMs: number;
  mode: string;
  extra?: Record<string, unknown>;
  what: 'stall' | 'stall-end' | 'busy' | 'busy-end';
}

interface ToolResult {
  tool: Tool;
  port: number;
  durationMs: number;
  stalls: number;
  busyWindows: number;
  /** schedule steps the server did not take (it was being restarted) */
  stepsMissed: number;
  /** start/restart calls in the systemctl wrapper log during the schedule (+ aftermath) */
  restarts: number;
  actions: string[];
  /** ours: restart_started events, and how often each state was entered */
  restartEvents?: number;
  statesEntered?: Record<string, number>;
  reasons?: string[];
  /** monit: its failure lines */
  monitFailures?: string[];
}

const SERVICE = 'vllm';
const STALL_EVERY_MS = 10_000;
const STALL_MS = 1_500;
const BUSY_EVERY_MS = 30_000;
const BUSY_MS = 4_000;
const MIN_UPTIME_MS = 11_000;
const AFTERMATH_MS = 3_000;

function schedule(durationMs: number, stall: 'hang' | 'slow'): Step[] {
  const steps: Step[] = [];
  for (let t = 5_000; t + STALL_MS <= durationMs; t += STALL_EVERY_MS) {
    steps.push(stall === 'hang' ? { atMs: t, mode: 'hang', what: 'stall' } : { atMs: t, mode: 'slow', extra: { delayMs: STALL_MS }, what: 'stall' });
    steps.push({ atMs: t + STALL_MS, mode: 'ok', what: 'stall-end' });
  }
  // busy 17.5-21.5 s into every 30 s: clear of the stalls at 15 and 25
  for (let t = 17_500; t + BUSY_MS <= durationMs; t += BUSY_EVERY_MS) {
    steps.push({ atMs: t, mode: 'busy', what: 'busy' });
    steps.push({ atMs: t + BUSY_MS, mode: 'ok', what: 'busy-end' });
  }
  return steps.sort((a, b) => a.atMs - b.atMs);
}

async function main(): Promise<void> {
  const args = benchArgs(undefined, { stall: { type: 'string' } });
  const durationMs = args.durationMs ?? 120_000;
  if (durationMs < 10_000 || durationMs > 30 * 60_000) throw new Error('--duration: between 10s and 30m');
  const stall = (args.rest.stall as string | undefined) ?? 'hang';
  if (stall !== 'hang' && stall !== 'slow') throw new Error('--stall: hang or slow');
  const monit = args.noMonit ? null : findMonit();
  if (!monit) console.log(args.noMonit ? 'monit baseline disabled (--no-monit)' : MONIT_SKIP_MESSAGE);
  const steps = schedule(durationMs, stall);
  console.log(`schedule: ${steps.filter((s) => s.what === 'stall').length} stalls (${stall}, ${STALL_MS} ms every ${STALL_EVERY_MS / 1000} s), ${steps.filter((s) => s.what === 'busy').length} busy windows (${BUSY_MS / 1000} s every ${BUSY_EVERY_MS / 1000} s), ${durationMs / 1000} s per tool`);

  const services = createBenchServices('false-restarts');
  const results: ToolResult[] = [];
  try {
    for (const tool of (monit ? ['ours', 'monit'] : ['ours']) as Tool[]) {
      const r = await runTool(services, tool, steps, durationMs, monit);
      results.push(r);
      console.log(`${tool}: ${r.restarts} restart(s) in ${durationMs / 1000} s${r.actions.length ? `: ${r.actions.join('; ')}` : ''}`);
    }
  } finally {
    await services.cleanup();
  }

  const ours = results.find((r) => r.tool === 'ours')!;
  const base = results.find((r) => r.tool === 'monit');
  const perMin = (n: number) => (n / durationMs) * 60_000;
  printTable(
    `false restarts over ${durationMs / 1000} s (${ours.stalls} stalls of ${STALL_MS} ms [${stall}], ${ours.busyWindows} busy windows); ratio = ours / monit`,
    ['measure', 'ours', 'monit', 'ratio'],
    [
      ['restarts (systemctl start/restart calls)', String(ours.restarts), base ? String(base.restarts) : '—', fmtRatio(ratio(ours.restarts, base?.restarts))],
      ['restarts per minute', fmt(perMin(ours.restarts), 2), base ? fmt(perMin(base.restarts), 2) : '—', fmtRatio(ratio(perMin(ours.restarts), base ? perMin(base.restarts) : null))],
      ['restarts per stall', fmt(ours.restarts / Math.max(1, ours.stalls), 2), base ? fmt(base.restarts / Math.max(1, base.stalls), 2) : '—', ''],
      ['schedule steps missed (server restarting)', String(ours.stepsMissed), base ? String(base.stepsMissed) : '—', ''],
    ],
  );
  if (ours.statesEntered) console.log(`\nours, states entered: ${Object.entries(ours.statesEntered).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}`);
  const goalMet = ours.restarts === 0;
  console.log(`goal: 0 restarts by our agent: ${goalMet ? 'MET' : 'MISSED'}`);
  const file = writeResult('false-restarts', {
    benchmark: 'false-restarts',
    machine: machineInfo({ monit: monit?.version ?? null }),
    config: {
      durationMs, stall, stallMs: STALL_MS, stallEveryMs: STALL_EVERY_MS, busyMs: BUSY_MS, busyEveryMs: BUSY_EVERY_MS,
      agent: { interval: '1s', timeout: '1s', retries: 3, retryDelay: '500ms', startupGrace: '10s' },
      monit: { daemon: 1, check: 'process matching + http /health, timeout 2 s, then restart', startTimeout: '10 s' },
    },
    figures: { oursRestarts: ours.restarts, monitRestarts: base?.restarts ?? null, ratio: ratio(ours.restarts, base?.restarts) },
    goals: { zeroRestartsByOurs: goalMet },
    results,
    schedule: steps,
  });
  console.log(`\nresult: ${file}`);
}

async function runTool(services: BenchServices, tool: Tool, steps: Step[], durationMs: number, monit: MonitInfo | null): Promise<ToolResult> {
  const port = await freePort();
  const unit = `fr-${tool}.service`;
  services.emulatorUnit(unit, 'vllm', port);
  await services.ctl('start', unit);
  if (!(await waitHealthy(port, '/health'))) throw new Error(`${unit} did not come up`);
  let agent: AgentRun | null = null;
  let mon: MonitRun | null = null;
  const result: ToolResult = {
    tool, port, durationMs, stalls: steps.filter((s) => s.what === 'stall').length, busyWindows: steps.filter((s) => s.what === 'busy').length,
    stepsMissed: 0, restarts: 0, actions: [],
  };
  try {
    if (tool === 'ours') {
      agent = spawnAgent(services.dir, 'agent-false-restarts', agentYaml([{ name: SERVICE, kind: 'vllm', port, unit }], services.systemctl), services.env);
      if (!(await agent.waitEvent(isState(SERVICE, 'healthy'), 20_000))) throw new Error(`agent never reported healthy: ${agent.tail.join(' | ')}`);
    } else {
      mon = startMonit({ monit: monit!, dir: services.dir, systemctl: services.systemctl, serviceDir: services.dir, checks: [{ name: 'vllm', port, path: '/health', unit, process: true }] });
    }
    // both tools see a server in steady state, past their startup allowances
    const upFor = Date.now() - services.mainStartedAt(unit);
    await sleep(Math.max(2_000, MIN_UPTIME_MS - upFor));

    const t0 = Date.now();
    for (const step of steps) {
      const wait = t0 + step.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (!(await setMode(port, step.mode, step.extra))) result.stepsMissed++;
    }
    const endWait = t0 + durationMs - Date.now();
    if (endWait > 0) await sleep(endWait);
    await sleep(AFTERMATH_MS);

    const actions = services.actions(t0, unit);
    result.actions = actions.map((a) => `${((a.at - t0) / 1000).toFixed(1)}s ${a.argv[0]}`);
    result.restarts = actions.filter((a) => a.argv[0] === 'start' || a.argv[0] === 'restart').length;
    if (agent) {
      const during = agent.events.filter((e) => Date.parse(e.at) >= t0);
      result.restartEvents = during.filter((e) => e.type === 'restart_started').length;
      result.statesEntered = {};
      for (const e of during) if (e.type === 'state_changed' && e.to) result.statesEntered[e.to] = (result.statesEntered[e.to] ?? 0) + 1;
      result.reasons = during.filter((e) => e.type === 'state_changed' || e.type === 'restart_started').map((e) => `${((Date.parse(e.at) - t0) / 1000).toFixed(1)}s ${e.type} ${e.from ?? ''}->${e.to ?? ''}: ${e.reason}`).slice(0, 200);
    }
    if (mon) result.monitFailures = mon.log().split('\n').filter((l) => /failed|restart|trying/i.test(l)).slice(-100);
    return result;
  } finally {
    await agent?.stop();
    await mon?.stop();
    await services.ctl('stop', unit).catch(() => undefined);
  }
}

runBench('false-restarts', main);
