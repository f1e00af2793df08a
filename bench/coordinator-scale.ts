/**
 * Coordinator scale: how many agents one coordinator process carries on this machine.
 * Goal: 5,000 agents × 4 services reporting every second = 20,000 probe
 * results/s, event-to-stored lag under 1 s at p99, coordinator RSS under 100 KB per agent.
 *
 * The coordinator runs as its own process (`node dist/cli/main.js coordinator -c FILE`,
 * SQLite in a temp dir, log level warn). Simulated agents (bench/lib/sim-agent.ts) run in
 * 1–2 separate load processes (bench/scale/load-worker.ts), each holding thousands of real
 * `ws` connections that speak the real protocol (hello → welcome → snapshot → probes every
 * second, events with per-agent bootId/seq, acks honoured, heartbeats). Agents connect gradually
 * (--connect-rate, default 500/s) and their sends are spread over the second.
 *
 * Steps of agents (500, 1000, 2000, 3000, 4000, 5000, 7500, 10000, cumulative: a step adds agents
 * to the previous ones). Per step, after every agent has its `welcome` and a settle pause,
 * one window of --step-seconds measures:
 *   - event-to-stored lag: at the simulated agent, ack receipt − event send time (the
 *     coordinator acks only after the SQLite commit); p50 / p99 / max;
 *   - probe results/s actually sent (vs agents × 4) and events/s;
 *   - coordinator CPU (utime+stime from /proc/PID/stat; 100 % = one core) and RSS (VmRSS,
 *     sampled every second); RSS per agent = (RSS − RSS with 0 agents) / connected agents;
 *   - the load processes' own CPU and event-loop delay, and the whole machine's busy share:
 *     on 2 cores the load generator and the coordinator compete for the same CPUs;
 *   - failures: disconnects, failed connects, close codes, coordinator warnings.
 * Ratios: against the goal, and against the 500-agent step of the same run (the baseline:
 * per-agent CPU and RSS, to show how the cost per agent scales).
 *
 * The run stops after the first step that misses p99 < 1 s or cannot connect all its
 * agents (--keep-going runs every step). --profile-at N profiles the coordinator (V8 CPU
 * profiler over the inspector, i.e. what --cpu-prof records) during step N's window and
 * prints where the time goes; that step's figures then include the profiler's overhead.
 *
 * node dist/bench/coordinator-scale.js [--max-agents N] [--step-seconds S] [--quick]
 *   [--steps 500,2000] [--load-procs 1|2] [--connect-rate N] [--profile-at N] [--keep-going]
 * Results: .bench-out/coordinator-scale.json (and -<time>.json, -latest.json).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLK_TCK, procMemory, procTimes, spawnGroup, stopGroup } from './lib/proc.js';
import { fmt, fmtRatio, machineInfo, OUT_DIR, percentile, printTable, runBench, writeResult } from './lib/report.js';
import type { WindowStats, WorkerHello, WorkerInit, WorkerReply, WorkerRequest, WorkerStatus } from './scale/ipc.js';
import { summarizeProfile, type ProfileSummary } from './scale/profile.js';
import { spawnCoordinator, type CoordinatorChild } from './lib/coordinator.js';
import { Inspector } from './lib/inspector.js';

const NAME = 'coordinator-scale';
const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', 'cli', 'main.js');
const WORKER = join(here, 'scale', 'load-worker.js');

const GOAL = { agents: 5000, services: 4, resultsPerSec: 20_000, p99LagMs: 1000, rssPerAgentKb: 100 } as const;
const DEFAULT_STEPS = [500, 1000, 2000, 3000, 4000, 5000, 7500, 10_000];
const QUICK_STEPS = [500, 1000, 2000];
const SERVICES = 4;
const EVENT_EVERY_SEC = 20;
const HEARTBEAT_EVERY_SEC = 10;
const SETTLE_MS = 5_000;
/** RSS with 0 agents: median of this many samples, 500 ms apart, after BASELINE_SETTLE_MS */
const BASELINE_SAMPLES = 10;
const BASELINE_SETTLE_MS = 5_000;
/** a step's agents must all have their welcome within (new agents / rate) + this */
const CONNECT_SLACK_MS = 45_000;
/** the whole run, whatever the flags: nothing here may run unbounded */
const RUN_DEADLINE_MS = 45 * 60_000;
/** functions whose inclusive time the profile summary reports (coordinator names) */
const PROFILE_FOCUS = [
  'onFrame',
  'parseAgentMessage',
  'enqueue',
  'process',
  'apply',
  'reduceFleet',
  'updateHost',
  'putHost',
  'processEvents',
  'appendEvents',
  'appendInTx',
  'onPong',
  'tick',
  'heartbeat',
  'send',
  'sendFrame',
  'receiverOnMessage',
];

interface Options {
  steps: number[];
  stepMs: number;
  loadProcs: number;
  connectRate: number;
  profileAt: number | null;
  keepGoing: boolean;
}

interface StepResult {
  agents: number;
  connected: number;
  windowS: number;
  probeResultsPerSec: number;
  targetResultsPerSec: number;
  eventsPerSec: number;
  eventsSent: number;
  eventsAcked: number;
  lagSamples: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  unackedAtEnd: number;
  oldestUnackedMs: number;
  /**
   * Second by second through the window: the largest event lag of the acks received in that
   * second, and how many coordinator `heartbeat` messages arrived (its ping round, every
   * fleet.heartbeatInterval, to every agent at once): shows whether lag spikes follow it.
   */
  timeline: { second: number; lagMaxMs: number | null; acks: number; coordinatorHeartbeats: number }[];
  coordinator: {
    cpuPercent: number;
    /** µs of coordinator CPU per connected agent per second */
    cpuUsPerAgentSec: number;
    rssMeanMb: number;
    rssMaxMb: number;
    hwmMb: number;
    rssPerAgentKb: number;
    /** (RSS − RSS of the baseline step) / (agents − baseline agents): the cost of one more agent, free of startup noise */
    rssMarginalKbPerAgent: number | null;
    rssSamplesMb: number[];
    warnings: number;
    warningKinds: Record<string, number>;
  };
  load: {
    processes: number;
    cpuPercentEach: number[];
    cpuPercentTotal: number;
    rssMbEach: number[];
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
    lateSlots: number;
    droppedSlots: number;
    maxBufferedBytes: number;
  };
  /** every CPU on the machine, % of all cores (200 % would be both cores busy) */
  machineBusyPercentOfAllCores: number | null;
  failures: {
    disconnects: number;
    connectFailures: number;
    closeCodes: Record<string, number>;
    upgradeRefusals: Record<string, number>;
    invalidFrames: number;
  };
  vsGoal: { p99Lag: number | null; rssPerAgent: number | null; resultsSentVsTarget: number | null };
  vsBaseline: { cpuPerAgent: number | null; rssPerAgent: number | null } | null;
  meetsP99: boolean;
  meetsGoal: boolean;
  profiled: boolean;
  profile?: ProfileSummary & { file: string };
}

// ------------------------------------------------------------------ small helpers

function parseOptions(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'max-agents': { type: 'string' },
      'step-seconds': { type: 'string' },
      quick: { type: 'boolean' },
      steps: { type: 'string' },
      'load-procs': { type: 'string' },
      'connect-rate': { type: 'string' },
      'profile-at': { type: 'string' },
      'keep-going': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (v: string | undefined, flag: string, lo: number, hi: number, fallback: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${flag}: expected an integer ${lo}..${hi}, got ${JSON.stringify(v)}`);
    return n;
  };
  const maxAgents = int(values['max-agents'], 'max-agents', 1, 20_000, 10_000);
  let steps: number[];
  if (values.steps !== undefined) {
    steps = values.steps.split(',').map((s) => int(s.trim(), 'steps', 1, 20_000, 0));
    if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!)) throw new Error('--steps: increasing agent counts, e.g. 500,2000,5000');
  } else {
    steps = (values.quick ? QUICK_STEPS : DEFAULT_STEPS).filter((s) => s <= maxAgents);
    if (!values.quick && maxAgents > (steps.at(-1) ?? 0) && maxAgents < DEFAULT_STEPS.at(-1)!) steps.push(maxAgents);
    if (!steps.length) steps = [maxAgents];
  }
  steps = steps.filter((s) => s <= maxAgents);
  const profileAt = values['profile-at'] === undefined ? null : int(values['profile-at'], 'profile-at', 1, 20_000, 0);
  if (profileAt !== null && !steps.includes(profileAt)) throw new Error(`--profile-at ${profileAt}: not one of the steps ${steps.join(', ')}`);
  return {
    steps,
    stepMs: int(values['step-seconds'], 'step-seconds', 5, 600, 20) * 1000,
    loadProcs: int(values['load-procs'], 'load-procs', 1, 4, 2),
    connectRate: int(values['connect-rate'], 'connect-rate', 10, 5000, 500),
    profileAt,
    keepGoing: Boolean(values['keep-going']),
  };
}


function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

function sumMaps(maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function diffMaps(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** busy and total jiffies over all cores (/proc/stat) */
function machineJiffies(): { busy: number; total: number } | null {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  } catch {
    return null;
  }
}

const fmtMap = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ') || '0';

// ------------------------------------------------------------------ coordinator process

type Coordinator = CoordinatorChild;

async function startCoordinatorProcess(dir: string, token: string, inspect: boolean): Promise<Coordinator> {
  return spawnCoordinator({
    cli: CLI,
    dir,
    inspect,
    yaml: (port) =>
      [
        `listen: 127.0.0.1:${port}`,
        `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
        'auth:',
        `  agentTokens: [${JSON.stringify(token)}]`,
        'fleet:',
        '  agentLostAfter: 30s',
        '  heartbeatInterval: 10s',
        '  helloTimeout: 10s',
        'store:',
        '  retention: 30d',
        '  pruneInterval: 1h',
        'limits:',
        '  maxPayload: 262144',
        'log:',
        '  level: warn',
        '',
      ].join('\n'),
  });
}

// ------------------------------------------------------------------ load processes

class LoadProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: OkReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => {
      const r = raw as WorkerReply;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      clearTimeout(w.timer);
      if (r.ok) w.resolve(r);
      else w.reject(new Error(`load process ${child.pid}: ${r.error}`));
    });
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`load process ${child.pid} exited (${code ?? signal})`));
      }
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(init: WorkerInit): Promise<LoadProcess> {
    const child = spawnGroup(process.execPath, [WORKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolveReady, reject) => {
      const t = setTimeout(() => reject(new Error('load process did not start within 20 s')), 20_000);
      child.on('message', function onReady(m: unknown) {
        if ((m as WorkerHello).type !== 'workerReady') return;
        clearTimeout(t);
        child.off('message', onReady);
        resolveReady();
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`load process exited at startup (${code})`));
      });
    });
    const lp = new LoadProcess(child);
    await lp.request({ type: 'init', init });
    return lp;
  }

  request(req: DistributiveOmit<WorkerRequest, 'id'>, timeoutMs = 30_000): Promise<OkReply> {
    const id = this.nextId++;
    return new Promise((resolveReply, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load process ${this.pid}: no answer to ${req.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolveReply, reject, timer });
      this.child.send({ ...req, id });
    });
  }

  async status(): Promise<WorkerStatus> {
    return (await this.request({ type: 'status' })).status!;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type OkReply = Extract<WorkerReply, { ok: true }>;

function sumStatus(all: WorkerStatus[]): WorkerStatus {
  return {
    agents: all.reduce((n, s) => n + s.agents, 0),
    ready: all.reduce((n, s) => n + s.ready, 0),
    everReady: all.reduce((n, s) => n + s.everReady, 0),
    connectAttempts: all.reduce((n, s) => n + s.connectAttempts, 0),
    connectFailures: all.reduce((n, s) => n + s.connectFailures, 0),
    disconnects: all.reduce((n, s) => n + s.disconnects, 0),
    closeCodes: sumMaps(all.map((s) => s.closeCodes)),
    upgradeRefusals: sumMaps(all.map((s) => s.upgradeRefusals)),
    invalidFrames: all.reduce((n, s) => n + s.invalidFrames, 0),
    unacked: all.reduce((n, s) => n + s.unacked, 0),
    oldestUnackedMs: Math.max(0, ...all.map((s) => s.oldestUnackedMs)),
  };
}

// ------------------------------------------------------------------ one step

async function runStep(
  agents: number,
  opts: Options,
  coord: Coordinator,
  loads: LoadProcess[],
  baselineRssKb: number,
  base: StepResult | null,
  before: WorkerStatus,
  warningsBefore: { count: number; kinds: Record<string, number> },
): Promise<StepResult> {
  // grow: every load process gets its share, at its share of the connect rate
  const per = loads.map((_, i) => Math.floor(agents / loads.length) + (i < agents % loads.length ? 1 : 0));
  const rate = opts.connectRate / loads.length;
  await Promise.all(loads.map((l, i) => l.request({ type: 'target', count: per[i]!, perSecond: rate })));
  const added = agents - before.agents;
  const connectDeadline = Date.now() + (added / opts.connectRate) * 1000 + CONNECT_SLACK_MS;
  let st = sumStatus(await Promise.all(loads.map((l) => l.status())));
  let lastPrint = 0;
  while (st.ready < agents && Date.now() < connectDeadline) {
    assertAlive(coord);
    await sleep(500);
    st = sumStatus(await Promise.all(loads.map((l) => l.status())));
    if (Date.now() - lastPrint > 5_000) {
      process.stdout.write(`  ${agents} agents: ${st.ready} connected, ${st.agents} created\n`);
      lastPrint = Date.now();
    }
  }
  if (st.ready < agents) console.log(`  only ${st.ready} of ${agents} agents connected within the deadline; measuring anyway`);
  await sleep(SETTLE_MS);
  assertAlive(coord);

  // the window
  const profiling = opts.profileAt === agents && coord.inspectPort !== null;
  let profiler: Inspector | null = null;
  if (profiling) {
    profiler = await Inspector.connect(coord.inspectPort!);
    await profiler.startProfiler();
  }
  const t0 = Date.now();
  const cpu0 = procTimes(coord.pid);
  const load0 = loads.map((l) => procTimes(l.pid));
  const mach0 = machineJiffies();
  await Promise.all(loads.map((l) => l.request({ type: 'windowStart' })));
  const rss: number[] = [];
  const sampler = setInterval(() => {
    const m = procMemory(coord.pid);
    if (m) rss.push(m.rssKb);
  }, 1_000);
  await sleep(opts.stepMs);
  clearInterval(sampler);
  const windows: WindowStats[] = (await Promise.all(loads.map((l) => l.request({ type: 'windowEnd' }, 60_000)))).map((r) => r.window!);
  const wallS = (Date.now() - t0) / 1000;
  const cpu1 = procTimes(coord.pid);
  const load1 = loads.map((l) => procTimes(l.pid));
  const mach1 = machineJiffies();
  const mem = procMemory(coord.pid);
  if (mem) rss.push(mem.rssKb);
  let profile: (ProfileSummary & { file: string }) | undefined;
  if (profiler) {
    const p = await profiler.stopProfiler();
    profiler.close();
    mkdirSync(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, `${NAME}-${agents}.cpuprofile`);
    writeFileSync(file, JSON.stringify(p));
    profile = { ...summarizeProfile(p, PROFILE_FOCUS), file };
  }
  assertAlive(coord);

  const lag = windows.flatMap((w) => w.lagMs).sort((a, b) => a - b);
  const seconds = Math.ceil(opts.stepMs / 1000);
  const timeline = Array.from({ length: seconds }, (_, second) => ({ second, lagMaxMs: null as number | null, acks: 0, coordinatorHeartbeats: 0 }));
  const bin = (ms: number) => timeline[Math.min(seconds - 1, Math.max(0, Math.floor(ms / 1000)))]!;
  for (const w of windows) {
    w.lagAtMs.forEach((at, i) => {
      const b = bin(at);
      b.acks++;
      b.lagMaxMs = Math.max(b.lagMaxMs ?? 0, w.lagMs[i]!);
    });
    for (const at of w.coordinatorHeartbeatAtMs) bin(at).coordinatorHeartbeats++;
  }
  const status = sumStatus(windows.map((w) => w.status));
  const probeResults = windows.reduce((n, w) => n + w.probeResults, 0);
  const windowS = Math.max(...windows.map((w) => w.wallMs)) / 1000;
  const coordCpu = cpu0 && cpu1 ? ((cpu1.self - cpu0.self) / CLK_TCK / wallS) * 100 : NaN;
  const loadCpu = loads.map((_, i) => (load0[i] && load1[i] ? ((load1[i]!.self - load0[i]!.self) / CLK_TCK / wallS) * 100 : NaN));
  const rssMeanKb = rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length);
  // per agent: per agent actually connected (a saturated coordinator may not take them all)
  const perAgent = status.ready > 0 ? status.ready : agents;
  const rssPerAgentKb = (rssMeanKb - baselineRssKb) / perAgent;
  const cpuUsPerAgentSec = ((coordCpu / 100) * 1e6) / perAgent;
  const warnings = coord.warnings();
  const targetResults = agents * SERVICES;
  const lagP99 = percentile(lag, 99);
  const disconnects = status.disconnects - before.disconnects;
  const connectFailures = status.connectFailures - before.connectFailures;
  const meetsP99 = lagP99 !== null && lagP99 < GOAL.p99LagMs && st.ready >= agents;
  const probeResultsPerSec = probeResults / windowS;
  const result: StepResult = {
    agents,
    connected: status.ready,
    windowS,
    probeResultsPerSec,
    targetResultsPerSec: targetResults,
    eventsPerSec: windows.reduce((n, w) => n + w.eventsSent, 0) / windowS,
    eventsSent: windows.reduce((n, w) => n + w.eventsSent, 0),
    eventsAcked: windows.reduce((n, w) => n + w.eventsAcked, 0),
    lagSamples: lag.length,
    lagP50Ms: percentile(lag, 50),
    lagP99Ms: lagP99,
    lagMaxMs: lag.length ? lag[lag.length - 1]! : null,
    unackedAtEnd: status.unacked,
    oldestUnackedMs: status.oldestUnackedMs,
    timeline: timeline.map((t) => ({ ...t, lagMaxMs: t.lagMaxMs === null ? null : Math.round(t.lagMaxMs) })),
    coordinator: {
      cpuPercent: coordCpu,
      cpuUsPerAgentSec,
      rssMeanMb: rssMeanKb / 1024,
      rssMaxMb: Math.max(...rss) / 1024,
      hwmMb: (mem?.hwmKb ?? NaN) / 1024,
      rssPerAgentKb,
      rssMarginalKbPerAgent: base && perAgent > base.connected ? ((rssMeanKb / 1024 - base.coordinator.rssMeanMb) * 1024) / (perAgent - base.connected) : null,
      rssSamplesMb: rss.map((k) => Math.round((k / 1024) * 10) / 10),
      warnings: warnings.count - warningsBefore.count,
      warningKinds: diffMaps(warnings.kinds, warningsBefore.kinds),
    },
    load: {
      processes: loads.length,
      cpuPercentEach: loadCpu,
      cpuPercentTotal: loadCpu.reduce((a, b) => a + b, 0),
      rssMbEach: loads.map((l) => (procMemory(l.pid)?.rssKb ?? NaN) / 1024),
      loopDelayP99Ms: Math.max(...windows.map((w) => w.loopDelayP99Ms)),
      loopDelayMaxMs: Math.max(...windows.map((w) => w.loopDelayMaxMs)),
      lateSlots: windows.reduce((n, w) => n + w.lateSlots, 0),
      droppedSlots: windows.reduce((n, w) => n + w.droppedSlots, 0),
      maxBufferedBytes: Math.max(...windows.map((w) => w.maxBufferedBytes)),
    },
    machineBusyPercentOfAllCores: mach0 && mach1 && mach1.total > mach0.total ? ((mach1.busy - mach0.busy) / (mach1.total - mach0.total)) * 100 * cpus().length : null,
    failures: {
      disconnects,
      connectFailures,
      closeCodes: diffMaps(status.closeCodes, before.closeCodes),
      upgradeRefusals: diffMaps(status.upgradeRefusals, before.upgradeRefusals),
      invalidFrames: status.invalidFrames - before.invalidFrames,
    },
    vsGoal: {
      p99Lag: ratio(lagP99, GOAL.p99LagMs),
      rssPerAgent: ratio(rssPerAgentKb, GOAL.rssPerAgentKb),
      resultsSentVsTarget: ratio(probeResultsPerSec, targetResults),
    },
    vsBaseline: base ? { cpuPerAgent: ratio(cpuUsPerAgentSec, base.coordinator.cpuUsPerAgentSec), rssPerAgent: ratio(rssPerAgentKb, base.coordinator.rssPerAgentKb) } : null,
    meetsP99,
    meetsGoal: meetsP99 && rssPerAgentKb < GOAL.rssPerAgentKb && probeResultsPerSec >= 0.95 * targetResults && disconnects === 0 && connectFailures === 0,
    profiled: profiling,
    ...(profile ? { profile } : {}),
  };
  return result;
}

function assertAlive(coord: Coordinator): void {
  if (coord.child.exitCode !== null || coord.child.signalCode !== null) {
    throw new Error(`the coordinator exited (${coord.child.exitCode ?? coord.child.signalCode}): ${coord.tail.slice(-5).join(' | ')}`);
  }
}

function printStepLine(r: StepResult): void {
  console.log(
    `  ${r.agents} agents: results/s ${r.probeResultsPerSec.toFixed(0)}/${r.targetResultsPerSec}, lag p50/p99/max ${fmt(r.lagP50Ms, 0)}/${fmt(r.lagP99Ms, 0)}/${fmt(r.lagMaxMs, 0)} ms (${r.lagSamples} events), ` +
      `coordinator CPU ${r.coordinator.cpuPercent.toFixed(0)} % RSS ${r.coordinator.rssMeanMb.toFixed(0)} MB (${r.coordinator.rssPerAgentKb.toFixed(1)} KB/agent), ` +
      `load CPU ${r.load.cpuPercentTotal.toFixed(0)} %, machine ${fmt(r.machineBusyPercentOfAllCores, 0)} % of ${cpus().length * 100} %, ` +
      `failures: ${r.failures.disconnects} disconnects, ${r.failures.connectFailures} failed connects, closes ${fmtMap(r.failures.closeCodes)}, ${r.coordinator.warnings} coordinator warnings`,
  );
  // * marks a second in which the coordinator's heartbeat round (ping + heartbeat to every agent) arrived
  console.log(`  max lag per second of the window, ms (* = coordinator heartbeat round): ${r.timeline.map((t) => `${t.lagMaxMs ?? '-'}${t.coordinatorHeartbeats > r.connected / 4 ? '*' : ''}`).join(' ')}`);
}

function printResults(steps: StepResult[], baselineRssMb: number): void {
  const base = steps[0]!;
  printTable(
    `Coordinator scale: lag and throughput (goal: ${GOAL.agents} agents, ${GOAL.resultsPerSec} results/s, p99 lag < ${GOAL.p99LagMs} ms)`,
    ['agents', 'connected', 'results/s', 'vs target', 'events/s', 'lag p50 ms', 'p99 ms', 'max ms', 'p99 vs goal', 'unacked', 'failures', 'p99 ok'],
    steps.map((r) => [
      String(r.agents),
      String(r.connected),
      r.probeResultsPerSec.toFixed(0),
      fmtRatio(r.vsGoal.resultsSentVsTarget),
      r.eventsPerSec.toFixed(0),
      fmt(r.lagP50Ms, 0),
      fmt(r.lagP99Ms, 0),
      fmt(r.lagMaxMs, 0),
      fmtRatio(r.vsGoal.p99Lag),
      String(r.unackedAtEnd),
      String(r.failures.disconnects + r.failures.connectFailures),
      r.meetsP99 ? 'yes' : 'NO',
    ]),
  );
  printTable(
    `Coordinator cost (CPU: 100 % = one core; RSS with 0 agents: ${baselineRssMb.toFixed(1)} MB; baseline = the ${base.agents}-agent step of this run)`,
    ['agents', 'coord CPU %', 'CPU µs/agent/s', 'vs baseline', 'RSS MB', 'KB/agent', 'vs baseline', 'vs goal 100 KB', 'marginal KB/agent', 'load CPU %', 'load loop p99 ms', 'machine busy %'],
    steps.map((r) => [
      String(r.agents),
      r.coordinator.cpuPercent.toFixed(0),
      r.coordinator.cpuUsPerAgentSec.toFixed(0),
      fmtRatio(r.vsBaseline?.cpuPerAgent ?? null),
      r.coordinator.rssMeanMb.toFixed(0),
      r.coordinator.rssPerAgentKb.toFixed(1),
      fmtRatio(r.vsBaseline?.rssPerAgent ?? null),
      fmtRatio(r.vsGoal.rssPerAgent),
      fmt(r.coordinator.rssMarginalKbPerAgent, 1),
      r.load.cpuPercentTotal.toFixed(0),
      r.load.loopDelayP99Ms.toFixed(0),
      fmt(r.machineBusyPercentOfAllCores, 0),
    ]),
  );
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const opts = parseOptions();
  const runDeadline = Date.now() + RUN_DEADLINE_MS;
  console.log(
    `${NAME}: steps ${opts.steps.join(', ')} agents × ${SERVICES} services, ${opts.stepMs / 1000} s window per step, ${opts.loadProcs} load process(es), ` +
      `connect ${opts.connectRate}/s, 1 event per agent every ${EVENT_EVERY_SEC} s${opts.profileAt ? `, profiling the coordinator at ${opts.profileAt} agents` : ''}`,
  );
  console.log(`  this machine has ${cpus().length} cores: the coordinator and the load process(es) share them, so the load generator's CPU is reported next to the coordinator's`);
  const dir = mkdtempSync(join(tmpdir(), 'llm-health-scale-'));
  const token = randomBytes(24).toString('base64url');
  const loads: LoadProcess[] = [];
  let coord: Coordinator | undefined;
  const steps: StepResult[] = [];
  let baselineRssKb = NaN;
  let stopReason = 'all steps done';
  try {
    coord = await startCoordinatorProcess(dir, token, opts.profileAt !== null);
    // RSS with no agent: what the per-agent figure is measured from
    await sleep(BASELINE_SETTLE_MS);
    const samples: number[] = [];
    for (let i = 0; i < BASELINE_SAMPLES; i++) {
      const m = procMemory(coord.pid);
      if (m) samples.push(m.rssKb);
      await sleep(500);
    }
    samples.sort((a, b) => a - b);
    baselineRssKb = samples[samples.length >> 1]!;
    console.log(`  coordinator pid ${coord.pid} on ${coord.url}, RSS with 0 agents ${(baselineRssKb / 1024).toFixed(1)} MB`);

    const wsUrl = `${coord.url.replace(/^http/, 'ws')}/agent`;
    for (let i = 0; i < opts.loadProcs; i++) {
      loads.push(await LoadProcess.start({ url: wsUrl, token, index: i, eventEverySec: EVENT_EVERY_SEC, heartbeatEverySec: HEARTBEAT_EVERY_SEC, services: SERVICES }));
    }
    console.log(`  load process pid(s) ${loads.map((l) => l.pid).join(', ')}`);

    for (const agents of opts.steps) {
      const stepBudget = ((agents - (steps.at(-1)?.agents ?? 0)) / opts.connectRate) * 1000 + CONNECT_SLACK_MS + SETTLE_MS + opts.stepMs + 30_000;
      if (Date.now() + stepBudget > runDeadline) {
        stopReason = `run deadline (${RUN_DEADLINE_MS / 60_000} min) reached before ${agents} agents`;
        break;
      }
      const before = sumStatus(await Promise.all(loads.map((l) => l.status())));
      const warningsBefore = coord.warnings();
      console.log(`\nstep: ${agents} agents`);
      const r = await runStep(agents, opts, coord, loads, baselineRssKb, steps[0] ?? null, before, warningsBefore);
      steps.push(r);
      printStepLine(r);
      if (r.profile) printProfile(r.profile);
      if (!r.meetsP99 && !opts.keepGoing && agents !== opts.steps.at(-1)) {
        stopReason = `stopped after ${agents} agents: ${r.connected < agents ? `only ${r.connected} connected` : `p99 lag ${fmt(r.lagP99Ms, 0)} ms ≥ ${GOAL.p99LagMs} ms`} (--keep-going runs the larger steps anyway)`;
        break;
      }
    }
  } finally {
    await Promise.all(loads.map((l) => l.request({ type: 'shutdown' }, 20_000).catch(() => undefined)));
    await Promise.all(loads.map((l) => stopGroup(l.child, 3_000)));
    if (coord) await stopGroup(coord.child, 10_000);
    rmSync(dir, { recursive: true, force: true });
  }
  if (!steps.length) throw new Error(`no step completed (${stopReason})`);

  printResults(steps, baselineRssKb / 1024);
  const p99Ok = steps.filter((s) => s.meetsP99).map((s) => s.agents);
  const goalOk = steps.filter((s) => s.meetsGoal).map((s) => s.agents);
  const maxP99 = p99Ok.length ? Math.max(...p99Ok) : null;
  const maxGoal = goalOk.length ? Math.max(...goalOk) : null;
  console.log(`\n${stopReason}`);
  console.log(`largest agent count with p99 event-to-stored lag < ${GOAL.p99LagMs} ms: ${maxP99 ?? 'none'}`);
  console.log(`largest agent count meeting every goal (p99 < 1 s, < ${GOAL.rssPerAgentKb} KB/agent, ≥ 95 % of results sent, no failures): ${maxGoal ?? 'none'}`);
  const largest = steps.at(-1)!.agents;
  const verdict = maxGoal !== null && maxGoal >= GOAL.agents ? 'MET' : largest < GOAL.agents && steps.every((s) => s.meetsGoal) ? `not tested (largest step ${largest} agents)` : 'NOT MET';
  console.log(`goal (${GOAL.agents} agents): ${verdict} on this ${cpus().length}-core machine`);

  const result = {
    benchmark: NAME,
    goal: GOAL,
    machine: machineInfo(),
    options: { ...opts, servicesPerAgent: SERVICES, eventEverySec: EVENT_EVERY_SEC, heartbeatEverySec: HEARTBEAT_EVERY_SEC, settleMs: SETTLE_MS },
    baselineRssMb: baselineRssKb / 1024,
    steps,
    stopReason,
    maxAgentsP99Under1s: maxP99,
    maxAgentsMeetingGoal: maxGoal,
    goalMet: maxGoal !== null && maxGoal >= GOAL.agents,
    verdict,
  };
  const stamped = writeResult(NAME, result);
  const fixed = join(OUT_DIR, `${NAME}.json`);
  writeFileSync(fixed, `${readFileSync(stamped, 'utf8')}`);
  console.log(`\nresults: ${fixed} (and ${stamped})`);
}

function printProfile(p: ProfileSummary & { file: string }): void {
  console.log(`\n  coordinator CPU profile of this window (${p.file}): ${p.wallMs.toFixed(0)} ms sampled, busy ${p.busyMs.toFixed(0)} ms, idle ${p.idleMs.toFixed(0)} ms, GC ${p.gcMs.toFixed(0)} ms`);
  printTable(
    '  top self time',
    ['function', 'self ms', '% of busy'],
    p.topSelf.map((r) => [r.name, r.ms.toFixed(0), r.name === '(idle)' ? '—' : r.pctOfBusy.toFixed(1)]),
  );
  printTable(
    '  self time by file',
    ['file', 'self ms', '% of busy'],
    p.byFile.map((r) => [r.name, r.ms.toFixed(0), r.name === '(idle)' ? '—' : r.pctOfBusy.toFixed(1)]),
  );
  printTable(
    '  inclusive time',
    ['function', 'incl ms', '% of busy'],
    p.inclusive.map((r) => [r.name, r.ms.toFixed(0), r.pctOfBusy.toFixed(1)]),
  );
}

runBench(NAME, main);
