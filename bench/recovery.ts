/**
 * Recovery time: an emulated vLLM server (a stand-in systemd unit) is SIGKILLed (crash) or
 * SIGSTOPped (hang) while a supervisor watches it, and we measure from the signal to
 *   - "restart issued": the first start/stop/restart call in the timestamping systemctl
 *     wrapper's log (both tools call the same wrapper), and for our agent also its
 *     `restart_started` event;
 *   - "healthy again": the first 200 from /health, polled by this benchmark every 20 ms on
 *     fresh connections, and for our agent also its state_changed → healthy event.
 * The supervisors: our agent (standalone, interval 1s, timeout 1s, retries 3, retryDelay
 * 500ms, startupGrace 10s) and, as the baseline, Debian's monit (`set daemon 1`, check
 * process + `if failed port P protocol http request "/health" with timeout 2 seconds then
 * restart`). Runs alternate between the two tools and use the same seeded random delay
 * (0-1 s) before each signal, so neither is favoured by where in its cycle the fault lands.
 *
 * npm run bench -- recovery [--runs 10] [--hang-runs 5] [--no-monit]
 *   [--retry-delay 500ms]   (the agent's retryDelay, to explore; the figures use 500ms)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { agentYaml, isState, spawnAgent, type AgentEvent } from './lib/agent.js';
import { findMonit, MONIT_SKIP_MESSAGE, startMonit, type MonitInfo } from './lib/monit.js';
import { pollUntil } from './lib/proc.js';
import { benchArgs, fmt, fmtRatio, machineInfo, max, median, printTable, ratio, runBench, seededRandom, writeResult } from './lib/report.js';
import { createBenchServices, freePort, HealthPoller, httpStatus, waitHealthy, type BenchServices } from './lib/services.js';

type Tool = 'ours' | 'monit';
type Fault = 'kill' | 'hang';

interface RunRecord {
  tool: Tool;
  fault: Fault;
  run: number;
  delayBeforeSignalMs: number;
  signalledAt: number;
  oldPid: number;
  newPid: number;
  /** signal → first start/stop/restart in the wrapper log */
  restartIssuedMs: number | null;
  /** ours only: signal → restart_started event time */
  restartEventMs?: number | null;
  /** signal → first 200 from /health (bench poller) */
  healthyPollMs: number | null;
  /** ours only: signal → state_changed → healthy event time */
  healthyEventMs?: number | null;
  /** start/restart calls after the signal (1 = one restart) */
  restarts: number;
  actions: string[];
  reason?: string;
  error?: string;
}

const UNIT = 'bench-vllm.service';
const SERVICE = 'vllm';
const RECOVERY_TIMEOUT_MS = 30_000;
/** after recovery, how long to keep watching for a second (double) restart */
const AFTERMATH_MS = 2_000;
/**
 * Faults land on a server in steady state: up at least this long, past both tools' startup
 * allowance (the agent's startupGrace 10s, monit's start timeout 10 s, during which monit
 * does not run a process check's port test at all).
 */
const MIN_UPTIME_MS = 11_000;
let retryDelay = '500ms';

async function main(): Promise<void> {
  const args = benchArgs(undefined, { 'retry-delay': { type: 'string' } });
  retryDelay = (args.rest['retry-delay'] as string | undefined) ?? '500ms';
  if (!/^\d+(ms|s)$/.test(retryDelay)) throw new Error('--retry-delay: a duration like 500ms');
  const killRuns = args.runs ?? 10;
  const hangRuns = args.hangRuns ?? 5;
  const monit = args.noMonit ? null : findMonit();
  if (!monit) console.log(args.noMonit ? 'monit baseline disabled (--no-monit)' : MONIT_SKIP_MESSAGE);

  const services = createBenchServices('recovery');
  const poller = { current: null as HealthPoller | null };
  const records: RunRecord[] = [];
  try {
    const port = await freePort();
    services.emulatorUnit(UNIT, 'vllm', port);
    await services.ctl('start', UNIT);
    if (!(await waitHealthy(port, '/health'))) throw new Error('the emulator did not come up');
    poller.current = new HealthPoller(port, '/health', { everyMs: 20, timeoutMs: 500, maxInFlight: 5, maxMs: 60 * 60_000 }).start();

    const rand = seededRandom(20240601);
    const plan: { fault: Fault; run: number; delay: number }[] = [];
    for (let i = 0; i < killRuns; i++) plan.push({ fault: 'kill', run: i + 1, delay: Math.round(rand() * 1000) });
    for (let i = 0; i < hangRuns; i++) plan.push({ fault: 'hang', run: i + 1, delay: Math.round(rand() * 1000) });
    const tools: Tool[] = monit ? ['ours', 'monit'] : ['ours'];

    for (const step of plan) {
      for (const tool of tools) {
        const rec = await oneRun(services, port, poller.current, tool, step.fault, step.run, step.delay, monit);
        records.push(rec);
        console.log(
          `${tool.padEnd(5)} ${step.fault} #${step.run}: restart issued ${fmt(rec.restartIssuedMs, 0, ' ms')}, healthy (poll) ${fmt(rec.healthyPollMs, 0, ' ms')}` +
            (tool === 'ours' ? `, events: restart_started ${fmt(rec.restartEventMs, 0, ' ms')}, healthy ${fmt(rec.healthyEventMs, 0, ' ms')}` : '') +
            `, restarts ${rec.restarts}${rec.error ? `  ERROR: ${rec.error}` : ''}`,
        );
      }
    }
  } finally {
    poller.current?.stop();
    await services.cleanup();
  }

  summarize(records, monit);
}

async function oneRun(
  services: BenchServices,
  port: number,
  poller: HealthPoller,
  tool: Tool,
  fault: Fault,
  run: number,
  delay: number,
  monit: MonitInfo | null,
): Promise<RunRecord> {
  await ensureUp(services, port);
  const rec: RunRecord = {
    tool, fault, run, delayBeforeSignalMs: delay, signalledAt: 0, oldPid: services.mainPid(UNIT), newPid: 0,
    restartIssuedMs: null, healthyPollMs: null, restarts: 0, actions: [],
  };
  const agent =
    tool === 'ours'
      ? spawnAgent(services.dir, `agent-${fault}-${run}`, agentYaml([{ name: SERVICE, kind: 'vllm', port, unit: UNIT }], services.systemctl, { retryDelay }), services.env)
      : null;
  const mon =
    tool === 'monit'
      ? startMonit({ monit: monit!, dir: services.dir, systemctl: services.systemctl, serviceDir: services.dir, checks: [{ name: 'vllm', port, path: '/health', unit: UNIT, process: true }] })
      : null;
  try {
    if (agent) {
      const ok = await agent.waitEvent(isState(SERVICE, 'healthy'), 20_000);
      if (!ok) throw new Error(`agent never reported healthy: ${agent.tail.join(' | ')}`);
      await sleep(300);
    } else {
      // monit checks at once when it starts, then every second: let it settle on "running"
      await sleep(2_000);
    }
    const startedAt = services.mainStartedAt(UNIT);
    const upFor = Date.now() - startedAt;
    if (startedAt > 0 && upFor < MIN_UPTIME_MS) await sleep(MIN_UPTIME_MS - upFor);
    await sleep(delay);

    const pid = services.mainPid(UNIT);
    rec.oldPid = pid;
    const t0 = Date.now();
    rec.signalledAt = t0;
    poller.arm(t0);
    process.kill(pid, fault === 'kill' ? 'SIGKILL' : 'SIGSTOP');

    const okAt = await poller.waitOk(RECOVERY_TIMEOUT_MS);
    rec.healthyPollMs = okAt === null ? null : okAt - t0;
    let restartEvent: AgentEvent | null = null;
    if (agent) {
      restartEvent = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === SERVICE && Date.parse(e.at) >= t0 - 5, RECOVERY_TIMEOUT_MS);
      rec.restartEventMs = restartEvent ? Date.parse(restartEvent.at) - t0 : null;
      rec.reason = restartEvent?.reason;
      const healthy = restartEvent ? await agent.waitEvent((e) => isState(SERVICE, 'healthy')(e) && e.seq > restartEvent!.seq, RECOVERY_TIMEOUT_MS) : null;
      rec.healthyEventMs = healthy ? Date.parse(healthy.at) - t0 : null;
    }
    await sleep(AFTERMATH_MS);
    const actions = services.actions(t0, UNIT);
    rec.actions = actions.map((a) => `${Math.round(a.at - t0)}ms ${a.argv.join(' ')}`);
    rec.restartIssuedMs = actions[0] ? actions[0].at - t0 : null;
    rec.restarts = actions.filter((a) => a.argv[0] === 'start' || a.argv[0] === 'restart').length;
    rec.newPid = services.mainPid(UNIT);
    if (okAt === null) rec.error = 'not healthy again within 30 s';
    else if (rec.newPid === pid) rec.error = 'main PID unchanged';
    if (mon && rec.restarts === 0) rec.error = `${rec.error ?? ''} monit log: ${mon.log().split('\n').slice(-5).join(' | ')}`.trim();
    return rec;
  } finally {
    await agent?.stop();
    await mon?.stop();
    // a stopped server nobody restarted must not stay frozen for the next run
    try {
      process.kill(rec.oldPid, 'SIGCONT');
    } catch {
      // gone
    }
  }
}

async function ensureUp(services: BenchServices, port: number): Promise<void> {
  if ((await httpStatus(port, '/health', 1_000)) === 200) return;
  await services.ctl('restart', UNIT);
  if (!(await pollUntil(async () => (await httpStatus(port, '/health', 500)) === 200, 15_000, 50))) throw new Error('could not bring the emulator back between runs');
}

function summarize(records: RunRecord[], monit: MonitInfo | null): void {
  const pick = (tool: Tool, fault: Fault, key: keyof RunRecord) =>
    records.filter((r) => r.tool === tool && r.fault === fault).map((r) => r[key]).filter((v): v is number => typeof v === 'number');
  const rows: string[][] = [];
  const figures: Record<string, unknown> = {};
  for (const fault of ['kill', 'hang'] as Fault[]) {
    for (const [label, key] of [
      ['restart issued (systemctl log)', 'restartIssuedMs'],
      ['healthy again (/health poll)', 'healthyPollMs'],
    ] as const) {
      const ours = pick('ours', fault, key);
      const base = pick('monit', fault, key);
      const f = {
        oursMedianMs: median(ours), oursMaxMs: max(ours), monitMedianMs: monit ? median(base) : null, monitMaxMs: monit ? max(base) : null,
        ratioMedian: ratio(median(ours), median(base)), ratioMax: ratio(max(ours), max(base)), n: ours.length, nMonit: base.length,
      };
      figures[`${fault}.${key}`] = f;
      rows.push([
        `${fault === 'kill' ? 'SIGKILL' : 'SIGSTOP'}: ${label}`,
        fmt(f.oursMedianMs / 1000, 2, ' s'), fmt(f.oursMaxMs / 1000, 2, ' s'),
        fmt(f.monitMedianMs == null ? null : f.monitMedianMs / 1000, 2, ' s'), fmt(f.monitMaxMs == null ? null : f.monitMaxMs / 1000, 2, ' s'),
        fmtRatio(f.ratioMedian), fmtRatio(f.ratioMax),
      ]);
    }
    for (const [label, key] of [
      ['restart_started event', 'restartEventMs'],
      ['state_changed→healthy event', 'healthyEventMs'],
    ] as const) {
      const ours = pick('ours', fault, key);
      figures[`${fault}.${key}`] = { oursMedianMs: median(ours), oursMaxMs: max(ours), n: ours.length };
      rows.push([`${fault === 'kill' ? 'SIGKILL' : 'SIGSTOP'}: ours, ${label}`, fmt(median(ours) / 1000, 2, ' s'), fmt(max(ours) / 1000, 2, ' s'), '', '', '', '']);
    }
    const restartsOurs = pick('ours', fault, 'restarts');
    const restartsMonit = pick('monit', fault, 'restarts');
    figures[`${fault}.restarts`] = { ours: restartsOurs, monit: restartsMonit };
    rows.push([`${fault === 'kill' ? 'SIGKILL' : 'SIGSTOP'}: restarts per fault (total)`, `${restartsOurs.reduce((a, b) => a + b, 0)}/${restartsOurs.length}`, '', monit ? `${restartsMonit.reduce((a, b) => a + b, 0)}/${restartsMonit.length}` : '—', '', '', '']);
  }
  printTable(`recovery: ours (llm-health agent${retryDelay !== '500ms' ? `, retryDelay ${retryDelay}` : ''}) vs monit, time from signal (ratio = ours / monit; < 1 is faster)`, ['measure', 'ours med', 'ours max', 'monit med', 'monit max', 'ratio med', 'ratio max'], rows);

  const kill = figures['kill.healthyPollMs'] as { ratioMedian: number | null };
  const hang = figures['hang.healthyPollMs'] as { ratioMedian: number | null };
  const goals = {
    crashFasterThanMonit: kill.ratioMedian == null ? null : kill.ratioMedian < 1,
    hangNoSlowerThanMonit: hang.ratioMedian == null ? null : hang.ratioMedian <= 1,
  };
  console.log(`\ngoal: crash recovery faster than monit (median healthy-again ratio < 1): ${verdict(goals.crashFasterThanMonit)}`);
  console.log(`goal: hang recovery no slower than monit (median healthy-again ratio ≤ 1): ${verdict(goals.hangNoSlowerThanMonit)}`);
  const errors = records.filter((r) => r.error);
  if (errors.length) console.log(`\n${errors.length} run(s) with errors: ${errors.map((r) => `${r.tool} ${r.fault} #${r.run}: ${r.error}`).join('; ')}`);
  const file = writeResult('recovery', {
    benchmark: 'recovery',
    machine: machineInfo({ monit: monit?.version ?? null }),
    config: { agent: { interval: '1s', timeout: '1s', retries: 3, retryDelay, startupGrace: '10s' }, monit: { daemon: 1, check: 'process matching + http /health, timeout 2 s, then restart' }, pollEveryMs: 20 },
    figures,
    goals,
    runs: records,
  });
  console.log(`\nresult: ${file}`);
}

function verdict(v: boolean | null): string {
  return v == null ? 'not measured (no monit baseline or no runs)' : v ? 'MET' : 'MISSED';
}

runBench('recovery', main);
