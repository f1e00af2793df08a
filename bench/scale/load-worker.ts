/**
 * One load process of the coordinator-scale benchmark: thousands of simulated agents, each
 * a real `ws` client speaking the agent protocol (shared/protocol) the way agent/link/client.ts
 * does: Bearer token on the upgrade, `hello` with 4 services, `welcome` (drops what it says
 * is stored), `snapshot`, then once a second one `probes` message with 4 results, now and
 * then a `state_changed` event (per-agent bootId, seq 1, 2, 3 ... never skipping), kept until
 * acknowledged and replayed in order after a reconnect, and a `heartbeat` every 10 s.
 *
 * Agents' sends are spread over the second: the second is cut into 100 slots of 10 ms and
 * each agent owns one slot. One 10 ms timer drives every agent of the process (thousands of
 * per-agent timers would cost more than the work). If the process falls behind, late slots
 * still run (and are counted); slots over 1 s late are skipped and counted, which shows as
 * a lower sent rate: the load generator's own limit is visible in the figures.
 *
 * Started by bench/coordinator-scale.ts with an IPC channel; requests in ipc.ts.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { CloseCode, PROTOCOL_VERSION, parseCoordinatorMessage } from '../../shared/protocol/index.js';
import type {
  AgentMessage,
  Event,
  EventsMessage,
  HeartbeatMessage,
  HelloMessage,
  HelloService,
  ProbeResult,
  ProbesMessage,
  ServiceState,
  SnapshotMessage,
  SnapshotService,
} from '../../shared/protocol/index.js';
import type { WindowStats, WorkerInit, WorkerReply, WorkerRequest, WorkerStatus } from './ipc.js';

const SLOT_MS = 10;
const SLOTS_PER_SECOND = 1000 / SLOT_MS;
const KINDS = ['vllm', 'llamacpp', 'tgi', 'ollama', 'sglang', 'openai'] as const;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_JITTER_MS = 2_000;

let init: WorkerInit | undefined;
let shuttingDown = false;

// ------------------------------------------------------------------ counters

const total = {
  connectAttempts: 0,
  connectFailures: 0,
  disconnects: 0,
  everReady: 0,
  invalidFrames: 0,
  closeCodes: {} as Record<string, number>,
  upgradeRefusals: {} as Record<string, number>,
};

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

function bump(map: Record<string, number>, key: string | number): void {
  map[String(key)] = (map[String(key)] ?? 0) + 1;
}

// ------------------------------------------------------------------ one simulated agent

interface Pending {
  event: Event;
  /** performance.now() when it was first written to a socket */
  sentAt: number;
}

class SimAgent {
  private ws: WebSocket | null = null;
  ready = false;
  private seq = 0;
  /** unacknowledged events, oldest first (seq order, one boot) */
  readonly pending: Pending[] = [];
  private readonly states: ServiceState[];
  private readonly services: HelloService[];
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly agentId: string,
    readonly bootId: string,
    /** which second of every `eventEverySec` this agent emits an event in */
    private readonly eventPhase: number,
    private readonly heartbeatPhase: number,
    serviceCount: number,
    n: number,
  ) {
    this.services = Array.from({ length: serviceCount }, (_, k) => ({
      name: `llm-${k}`,
      kind: KINDS[(n + k) % KINDS.length]!,
      url: `http://10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:${8000 + k}`,
      unit: `llm-${k}.service`,
    }));
    this.states = this.services.map(() => 'healthy');
  }

  connect(): void {
    if (shuttingDown) return;
    const { url, token } = init!;
    total.connectAttempts++;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: 30_000,
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('open', () => {
      const hello: HelloMessage = {
        type: 'hello',
        v: PROTOCOL_VERSION,
        agentId: this.agentId,
        bootId: this.bootId,
        labels: { bench: 'coordinator-scale', loadProcess: String(init!.index) },
        agentVersion: '0.1.0-bench',
        services: this.services,
      };
      this.send(hello);
    });
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(data as Buffer));
    ws.on('unexpected-response', (_req, res) => {
      bump(total.upgradeRefusals, res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => {
      // 'close' follows; counted there
    });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      const wasReady = this.ready;
      this.ready = false;
      this.ws = null;
      if (shuttingDown) return;
      bump(total.closeCodes, code);
      if (wasReady) total.disconnects++;
      else total.connectFailures++;
      // 4001 means another connection took our id: that is a bench bug, do not fight it
      if (code === CloseCode.Replaced) return;
      this.reconnectTimer = setTimeout(() => this.connect(), RECONNECT_MIN_MS + Math.random() * RECONNECT_JITTER_MS);
    });
  }

  close(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws) return Promise.resolve();
    if (ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 3_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(CloseCode.Normal, 'bench done');
    });
  }

  private onMessage(data: Buffer): void {
    const parsed = parseCoordinatorMessage(data, { maxBytes: 1024 * 1024 });
    if (!parsed.ok) {
      total.invalidFrames++;
      this.ws?.close(CloseCode.InvalidFrame, parsed.code);
      return;
    }
    const msg = parsed.msg;
    switch (msg.type) {
      case 'welcome': {
        if (msg.ackedSeq && msg.ackedSeq.bootId === this.bootId) {
          while (this.pending.length && this.pending[0]!.event.seq <= msg.ackedSeq.seq) this.pending.shift();
        }
        this.ready = true;
        total.everReady++;
        this.sendSnapshot();
        // replay what is still unacknowledged (after a reconnect), in order, in one frame
        if (this.pending.length) this.send({ type: 'events', v: PROTOCOL_VERSION, events: this.pending.slice(0, 1000).map((p) => p.event) } satisfies EventsMessage);
        break;
      }
      case 'ack': {
        win.acksReceived++;
        if (msg.bootId !== this.bootId) break;
        const now = performance.now();
        while (this.pending.length && this.pending[0]!.event.seq <= msg.seq) {
          const p = this.pending.shift()!;
          win.eventsAcked++;
          win.lagMs.push(now - p.sentAt);
          win.lagAtMs.push(now - win.startedAt);
        }
        break;
      }
      case 'heartbeat':
        win.coordinatorHeartbeats++;
        win.coordinatorHeartbeatAtMs.push(performance.now() - win.startedAt);
        break;
      case 'command':
        break;
    }
  }

  /** Runs once a second, in this agent's slot. */
  onSecond(second: number): void {
    if (!this.ready) return;
    const at = new Date().toISOString();
    const results: ProbeResult[] = this.services.map((s, k) => ({
      service: s.name,
      ok: true,
      state: this.states[k]!,
      latencyMs: 5 + Math.round(Math.random() * 40),
      at,
    }));
    if (this.send({ type: 'probes', v: PROTOCOL_VERSION, results } satisfies ProbesMessage)) {
      win.probeMessages++;
      win.probeResults += results.length;
    }
    if ((second + this.eventPhase) % init!.eventEverySec === 0) this.emitEvent(at);
    if ((second + this.heartbeatPhase) % init!.heartbeatEverySec === 0) {
      if (this.send({ type: 'heartbeat', v: PROTOCOL_VERSION, at } satisfies HeartbeatMessage)) win.heartbeatsSent++;
    }
  }

  private emitEvent(at: string): void {
    const k = this.seq % this.services.length;
    const from = this.states[k]!;
    const to: ServiceState = from === 'healthy' ? 'degraded' : 'healthy';
    this.states[k] = to;
    const event: Event = {
      agentId: this.agentId,
      bootId: this.bootId,
      seq: ++this.seq,
      at,
      type: 'state_changed',
      service: this.services[k]!.name,
      from,
      to,
      reason: to === 'degraded' ? 'bench: slow inference (simulated)' : 'bench: recovered (simulated)',
    };
    this.pending.push({ event, sentAt: performance.now() });
    if (this.send({ type: 'events', v: PROTOCOL_VERSION, events: [event] } satisfies EventsMessage)) win.eventsSent++;
  }

  private sendSnapshot(): void {
    const now = new Date().toISOString();
    const services: SnapshotService[] = this.services.map((s, k) => ({
      name: s.name,
      kind: s.kind,
      url: s.url,
      state: this.states[k]!,
      reason: 'probe ok',
      since: now,
      lastProbe: { ok: true, latencyMs: 12, at: now },
      restarts: { count: 0, lastAt: null, lastOutcome: null },
    }));
    this.send({ type: 'snapshot', v: PROTOCOL_VERSION, services, gpu: null } satisfies SnapshotMessage);
  }

  private send(msg: AgentMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    if (ws.bufferedAmount > win.maxBufferedBytes) win.maxBufferedBytes = ws.bufferedAmount;
    return true;
  }
}

// ------------------------------------------------------------------ the process

const agents: SimAgent[] = [];
const slots: SimAgent[][] = Array.from({ length: SLOTS_PER_SECOND }, () => []);
let target = 0;
let rampPerSecond = 500;
let rampTimer: NodeJS.Timeout | undefined;
let tickTimer: NodeJS.Timeout | undefined;
let lastSlot = Math.floor(performance.now() / SLOT_MS);

function addAgent(): void {
  const n = agents.length;
  const { index, eventEverySec, heartbeatEverySec, services } = init!;
  const slot = (n + index * 50) % SLOTS_PER_SECOND;
  // Phases: which second of every eventEverySec (heartbeatEverySec) the agent sends its
  // event (heartbeat) in. 7 and 3 are coprime to 20 and 10, so consecutive agents (which sit
  // in consecutive slots) and agents sharing a slot (n apart by 100) all get different
  // phases: events/s stay at agents / eventEverySec, spread over the slots of the second.
  const round = Math.floor(n / SLOTS_PER_SECOND);
  const eventPhase = (n * 7 + round) % eventEverySec;
  const heartbeatPhase = (n * 3 + round) % heartbeatEverySec;
  const agent = new SimAgent(`scale-w${index}-${n}`, randomBytes(12).toString('base64url'), eventPhase, heartbeatPhase, services, n + index * 100_000);
  agents.push(agent);
  slots[slot]!.push(agent);
  agent.connect();
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
    for (const a of slots[s % SLOTS_PER_SECOND]!) a.onSecond(second);
  }
  lastSlot = nowSlot;
  tickTimer = setTimeout(tick, SLOT_MS - (performance.now() % SLOT_MS));
}

function status(): WorkerStatus {
  let ready = 0;
  let unacked = 0;
  let oldest = Infinity;
  for (const a of agents) {
    if (a.ready) ready++;
    unacked += a.pending.length;
    if (a.pending.length) oldest = Math.min(oldest, a.pending[0]!.sentAt);
  }
  return {
    agents: agents.length,
    ready,
    everReady: total.everReady,
    connectAttempts: total.connectAttempts,
    connectFailures: total.connectFailures,
    disconnects: total.disconnects,
    closeCodes: { ...total.closeCodes },
    upgradeRefusals: { ...total.upgradeRefusals },
    invalidFrames: total.invalidFrames,
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
  await Promise.all(agents.map((a) => a.close()));
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
