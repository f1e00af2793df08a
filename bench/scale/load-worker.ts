/**
 * One load process of the coordinator-scale benchmark: thousands of simulated agents
 * (bench/lib/sim-agent.ts, the simulator the tests use), each a real `ws` client speaking the
 * agent protocol: Bearer token on the upgrade, `hello` with 4 services, `welcome` (drops what
 * it says is stored), `snapshot`, then once a second one `probes` message with 4 results, now
 * and then a `state_changed` event (per-agent bootId, seq 1, 2, 3 ... never skipping), kept
 * until acknowledged and replayed in order after a reconnect (1–3 s after a close), and a
 * `heartbeat` every 10 s.
 *
 * Agents' sends are spread over the second: the second is cut into 100 slots of 10 ms and
 * each agent owns one slot. One 10 ms timer drives every agent of the process (thousands of
 * per-agent timers would cost more than the work). If the process falls behind, late slots
 * still run (and are counted); slots over 1 s late are skipped and counted, which shows as
 * a lower sent rate: the load generator's own limit is visible in the figures.
 *
 * Started by bench/coordinator-scale.ts with an IPC channel; requests in ipc.ts.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { CoordinatorMessage, ServiceState } from '../../shared/protocol/index.js';
import { newSimCounters, SimAgent, type SpooledEvent } from '../lib/sim-agent.js';
import type { WindowStats, WorkerInit, WorkerReply, WorkerRequest, WorkerStatus } from './ipc.js';

const SLOT_MS = 10;
const SLOTS_PER_SECOND = 1000 / SLOT_MS;
const KINDS = ['vllm', 'llamacpp', 'tgi', 'ollama', 'sglang', 'openai'] as const;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_JITTER_MS = 2_000;
/** bounds both the upgrade and the wait for `welcome`: a saturated coordinator is slow to answer */
const CONNECT_TIMEOUT_MS = 30_000;

let init: WorkerInit | undefined;
let shuttingDown = false;

// ------------------------------------------------------------------ counters

/** every agent of the process adds its connection outcomes here */
const total = newSimCounters();

function freshWindow() {
  return {
    startedAt: performance.now(),
    cpu: process.cpuUsage(),
    probeMessages: 0,
    probeResults: 0,
    eventsSent: 0,
    eventsAcked: 0,
    heartbeatsSent: 0,
    acksReceived: 0,
    coordinatorHeartbeats: 0,
    lateSlots: 0,
    droppedSlots: 0,
    maxBufferedBytes: 0,
    lagMs: [] as number[],
    lagAtMs: [] as number[],
    coordinatorHeartbeatAtMs: [] as number[],
  };
}
let win = freshWindow();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

// ------------------------------------------------------------------ one simulated agent

/** A simulated agent (bench/lib/sim-agent.ts) and the seconds it sends its event and heartbeat in. */
interface LoadAgent {
  sim: SimAgent;
  /** which second of every `eventEverySec` this agent emits an event in */
  eventPhase: number;
  heartbeatPhase: number;
}

function newSimAgent(n: number): SimAgent {
  const { url, token, index, services } = init!;
  return new SimAgent({
    url,
    token,
    id: `scale-w${index}-${n}`,
    services: Array.from({ length: services }, (_, k) => `llm-${k}`),
    kind: KINDS[(n + index * 100_000) % KINDS.length],
    labels: { bench: 'coordinator-scale', loadProcess: String(index) },
    // the benchmark times sending: validating every frame would load this process, not the coordinator
    validateOutgoing: 'first-of-type',
    // nobody reads the inbox here, and thousands of long-lived agents keeping 200 messages each would weigh on this process
    inboxLimit: 0,
    reconnect: { minMs: RECONNECT_MIN_MS, jitterMs: RECONNECT_JITTER_MS },
    counters: total,
    onMessage: countMessage,
    onAck: recordLag,
  });
}

function countMessage(_agent: SimAgent, msg: CoordinatorMessage): void {
  if (msg.type === 'ack') win.acksReceived++;
  else if (msg.type === 'heartbeat') {
    win.coordinatorHeartbeats++;
    win.coordinatorHeartbeatAtMs.push(performance.now() - win.startedAt);
  }
}

/**
 * event→stored lag: the coordinator acknowledges only after its commit. Events acknowledged by
 * a reconnect's `welcome` count too: their lag includes the time the agent was away.
 */
function recordLag(_agent: SimAgent, _newly: number, _at: number, acked: readonly SpooledEvent[]): void {
  const now = performance.now();
  for (const e of acked) {
    win.eventsAcked++;
    if (e.firstSentAt === null) continue;
    win.lagMs.push(now - e.firstSentAt);
    win.lagAtMs.push(now - win.startedAt);
  }
}

/** Runs once a second, in the agent's slot: a probe round, now and then an event or a heartbeat. */
function onSecond(a: LoadAgent, second: number): void {
  const sim = a.sim;
  if (!sim.connected) return;
  const results = sim.probeRound();
  if (results > 0) {
    win.probeMessages++;
    win.probeResults += results;
  }
  if ((second + a.eventPhase) % init!.eventEverySec === 0) emitEvent(sim);
  if ((second + a.heartbeatPhase) % init!.heartbeatEverySec === 0 && sim.heartbeat()) win.heartbeatsSent++;
  if (sim.buffered > win.maxBufferedBytes) win.maxBufferedBytes = sim.buffered;
}

/** One service, in turn, flips between healthy and degraded: one `state_changed` event. */
function emitEvent(sim: SimAgent): void {
  const names = sim.serviceNames;
  const name = names[sim.lastSeq % names.length]!;
  const to: ServiceState = sim.services.get(name)!.state === 'healthy' ? 'degraded' : 'healthy';
  const reason = to === 'degraded' ? 'bench: slow inference (simulated)' : 'bench: recovered (simulated)';
  // the probe round of this second already went out; the next one reports the new state
  const events = sim.setState(to, reason, [name], { probes: 'later' });
  if (sim.connected) win.eventsSent += events.length;
}

// ------------------------------------------------------------------ the process

const agents: LoadAgent[] = [];
const slots: LoadAgent[][] = Array.from({ length: SLOTS_PER_SECOND }, () => []);
let target = 0;
let rampPerSecond = 500;
let rampTimer: NodeJS.Timeout | undefined;
let tickTimer: NodeJS.Timeout | undefined;
let lastSlot = Math.floor(performance.now() / SLOT_MS);

function addAgent(): void {
  const n = agents.length;
  const { index, eventEverySec, heartbeatEverySec } = init!;
  const slot = (n + index * 50) % SLOTS_PER_SECOND;
  // Phases: which second of every eventEverySec (heartbeatEverySec) the agent sends its
  // event (heartbeat) in. 7 and 3 are coprime to 20 and 10, so consecutive agents (which sit
  // in consecutive slots) and agents sharing a slot (n apart by 100) all get different
  // phases: events/s stay at agents / eventEverySec, spread over the slots of the second.
  const round = Math.floor(n / SLOTS_PER_SECOND);
  const eventPhase = (n * 7 + round) % eventEverySec;
  const heartbeatPhase = (n * 3 + round) % heartbeatEverySec;
  const agent: LoadAgent = { sim: newSimAgent(n), eventPhase, heartbeatPhase };
  agents.push(agent);
  slots[slot]!.push(agent);
  // a failed connect is counted by its close, which also schedules the next try
  agent.sim.connect(CONNECT_TIMEOUT_MS).catch(() => undefined);
}

function ramp(): void {
  clearTimeout(rampTimer);
  let last = performance.now();
  let credit = 0;
  const step = () => {
    if (shuttingDown) return;
    const now = performance.now();
    credit += ((now - last) / 1000) * rampPerSecond;
    last = now;
    while (credit >= 1 && agents.length < target) {
      addAgent();
      credit -= 1;
    }
    if (agents.length < target) rampTimer = setTimeout(step, 20);
  };
  step();
}

function tick(): void {
  if (shuttingDown) return;
  const nowSlot = Math.floor(performance.now() / SLOT_MS);
  let from = lastSlot + 1;
  if (nowSlot - from >= SLOTS_PER_SECOND) {
    win.droppedSlots += nowSlot - from - SLOTS_PER_SECOND + 1;
    from = nowSlot - SLOTS_PER_SECOND + 1;
  }
  for (let s = from; s <= nowSlot; s++) {
    if (nowSlot - s >= 2) win.lateSlots++;
    const second = Math.floor(s / SLOTS_PER_SECOND);
    for (const a of slots[s % SLOTS_PER_SECOND]!) onSecond(a, second);
  }
  lastSlot = nowSlot;
  tickTimer = setTimeout(tick, SLOT_MS - (performance.now() % SLOT_MS));
}

function status(): WorkerStatus {
  let ready = 0;
  let unacked = 0;
  let oldest = Infinity;
  let invalidFrames = 0;
  for (const { sim } of agents) {
    if (sim.connected) ready++;
    unacked += sim.unacked;
    invalidFrames += sim.invalidFrames;
    oldest = Math.min(oldest, sim.oldestUnacked?.firstSentAt ?? Infinity);
  }
  const { welcomes, ...counts } = total;
  return {
    agents: agents.length,
    ready,
    everReady: welcomes,
    ...counts,
    closeCodes: { ...total.closeCodes },
    upgradeRefusals: { ...total.upgradeRefusals },
    invalidFrames,
    unacked,
    oldestUnackedMs: oldest === Infinity ? 0 : performance.now() - oldest,
  };
}

function windowEnd(): WindowStats {
  const wallMs = performance.now() - win.startedAt;
  const cpu = process.cpuUsage(win.cpu);
  const stats: WindowStats = {
    wallMs,
    probeMessages: win.probeMessages,
    probeResults: win.probeResults,
    eventsSent: win.eventsSent,
    eventsAcked: win.eventsAcked,
    heartbeatsSent: win.heartbeatsSent,
    lagMs: win.lagMs,
    lagAtMs: win.lagAtMs,
    coordinatorHeartbeatAtMs: win.coordinatorHeartbeatAtMs,
    acksReceived: win.acksReceived,
    coordinatorHeartbeats: win.coordinatorHeartbeats,
    lateSlots: win.lateSlots,
    droppedSlots: win.droppedSlots,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    maxBufferedBytes: win.maxBufferedBytes,
    status: status(),
  };
  win = freshWindow();
  return stats;
}

async function shutdown(): Promise<void> {
  shuttingDown = true;
  clearTimeout(rampTimer);
  clearTimeout(tickTimer);
  await Promise.all(agents.map((a) => a.sim.disconnect(3_000)));
}

function reply(r: WorkerReply): void {
  process.send?.(r);
}

process.on('message', (raw: unknown) => {
  const req = raw as WorkerRequest;
  try {
    switch (req.type) {
      case 'init':
        init = req.init;
        tick();
        return reply({ id: req.id, ok: true });
      case 'target':
        if (!init) throw new Error('not initialised');
        target = Math.max(target, req.count);
        rampPerSecond = req.perSecond;
        ramp();
        return reply({ id: req.id, ok: true });
      case 'status':
        return reply({ id: req.id, ok: true, status: status() });
      case 'windowStart':
        win = freshWindow();
        loopDelay.reset();
        return reply({ id: req.id, ok: true });
      case 'windowEnd':
        return reply({ id: req.id, ok: true, window: windowEnd() });
      case 'shutdown':
        void shutdown().then(() => {
          reply({ id: req.id, ok: true });
          process.disconnect?.();
          setTimeout(() => process.exit(0), 100).unref();
        });
        return;
    }
  } catch (err) {
    reply({ id: req.id, ok: false, error: (err as Error).message });
  }
});

// the orchestrator is gone: never linger holding thousands of sockets
process.on('disconnect', () => {
  if (!shuttingDown) void shutdown().finally(() => process.exit(0));
});

process.send?.({ type: 'workerReady', pid: process.pid });
