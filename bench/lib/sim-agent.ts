/**
 * Simulated agents for coordinator tests and benchmarks: each one speaks the REAL agent
 * protocol (docs/protocol.md) over its own real WebSocket to `/agent`, with the Bearer token
 * on the upgrade, the way agent/link/client.ts does. It sends `hello`, waits for `welcome`,
 * sends a `snapshot` consistent with its local service states, and reports changes as
 * `events` (`state_changed`, seq from 1 and +1 per event within its bootId) plus `probes`
 * (at once, or with the next `flushProbes()` as the real agent's once-a-second flush).
 * Unacknowledged events are kept (a tiny in-memory spool) and replayed in order after a
 * reconnect, as the real agent does. Every frame from the coordinator is validated with
 * `parseCoordinatorMessage`; what it sends is validated too (every frame, or the first of
 * each type where a benchmark measures sending); `ws` answers the coordinator's pings by
 * itself, so an agent stays online for as long as its socket is open.
 *
 * Thousands of agents in one process are fine: each is one socket and a few maps. Every
 * wait is bounded in time; `terminate()` / `SimFleet.close()` end every socket.
 *
 * For load generation (bench/scale/load-worker.ts) an agent can also reconnect by itself
 * after a close it did not ask for, add its connection outcomes to counters shared by many
 * agents, and report a full probe round and heartbeats when its owner's scheduler says so:
 * the agent has no timers of its own besides a pending reconnect.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { CloseCode, Limits, PROTOCOL_VERSION, type ServiceState } from '../../shared/protocol/constants.js';
import type { AgentMessage, CoordinatorMessage, Event, ProbeResult, SnapshotService } from '../../shared/protocol/messages.js';
import { checkAgentMessage, encodeMessage, parseCoordinatorMessage } from '../../shared/protocol/parse.js';

export interface SimAgentOptions {
  /** ws://host:port/agent */
  url: string;
  token: string;
  id: string;
  /** service names, or how many (named svc-0, svc-1, ...); default 4 */
  services?: number | readonly string[];
  labels?: Record<string, string>;
  /** probe kind reported for every service; default vllm */
  kind?: string;
  /** initial state of every service; default healthy */
  initialState?: ServiceState;
  /** validate every frame sent (default), or only the first of each type (benchmarks: sending is what they time) */
  validateOutgoing?: 'every' | 'first-of-type';
  /**
   * told of every acknowledgement that moved the watermark: how many events it newly covers,
   * and those events with their first-send times (so a benchmark can measure event→ack lag)
   */
  onAck?: (agent: SimAgent, newlyAcked: number, at: number, acked: readonly SpooledEvent[]) => void;
  /** told of every valid message from the coordinator, before the agent acts on it */
  onMessage?: (agent: SimAgent, msg: CoordinatorMessage) => void;
  /** how many coordinator messages `inbox` keeps (default 200); 0 keeps none, for load generators whose agents live for many minutes */
  inboxLimit?: number;
  /** after a close the agent did not ask for, connect again after minMs + random × jitterMs (not after 4001: another connection took the id) */
  reconnect?: { minMs: number; jitterMs: number };
  /** where connection outcomes are counted; pass one object to many agents to count them together (default: the agent's own) */
  counters?: SimCounters;
  /**
   * Answer restart `command`s as the real agent does (docs/protocol.md, command): each id at
   * most once, `command_received`, the service `starting`, `command_result` ok, then after
   * `loadTimeMs(service)` a `state_changed` to healthy with its probe result. Services are
   * then announced with a unit (`<name>.service`), so restart jobs can target them.
   */
  commands?: { loadTimeMs(agent: SimAgent, service: string): number; onHealthy?: (agent: SimAgent, service: string, sentAt: number) => void };
}

/** An event kept until acknowledged. */
export interface SpooledEvent {
  event: Event;
  /** performance.now() when it was first written to a socket; null while never sent */
  firstSentAt: number | null;
}

/** Connection outcomes; closes and failures count only what the agent did not ask for. */
export interface SimCounters {
  connectAttempts: number;
  /** `welcome`s received, reconnects included */
  welcomes: number;
  /** closes of a connection that had its welcome */
  disconnects: number;
  /** closes before the welcome: refused upgrades, timeouts, connection errors */
  connectFailures: number;
  /** close code → count */
  closeCodes: Record<string, number>;
  /** HTTP status of a refused upgrade → count */
  upgradeRefusals: Record<string, number>;
}

export function newSimCounters(): SimCounters {
  return { connectAttempts: 0, welcomes: 0, disconnects: 0, connectFailures: 0, closeCodes: {}, upgradeRefusals: {} };
}

function bump(map: Record<string, number>, key: string | number): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Frame types already validated once, for agents that validate only the first of each type. */
const validatedTypes = new Set<string>();

interface SimService {
  name: string;
  kind: string;
  url: string;
  state: ServiceState;
  reason: string;
  since: string;
  ok: boolean;
  probeAt: string;
  /** changed since the last `probes` frame */
  dirty: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** One `events` message carries at most this many (the protocol allows 1000). */
const EVENTS_PER_MESSAGE = 500;

export class SimAgent {
  readonly id: string;
  readonly bootId: string;
  readonly labels: Record<string, string>;
  readonly services = new Map<string, SimService>();
  /** every valid message the coordinator sent, in order (welcome, ack, heartbeat, command) */
  readonly inbox: CoordinatorMessage[] = [];
  /** close codes of sockets that closed, oldest first */
  readonly closes: { code: number; reason: string }[] = [];
  /** highest seq the coordinator acknowledged for this boot */
  ackedSeq = 0;
  /** frames from the coordinator that failed validation (the socket is then closed with 4400) */
  invalidFrames = 0;
  readonly counters: SimCounters;
  /** ids of the commands answered (with `commands`): a repeat is not run again */
  readonly commandsRun = new Set<string>();
  /** last seq used; the next event gets seq + 1 */
  private seq = 0;
  private readonly loadTimers = new Set<NodeJS.Timeout>();
  /** sent or not, not yet acknowledged: replayed in order after a reconnect */
  private readonly spool: SpooledEvent[] = [];
  private ws: WebSocket | null = null;
  private welcomed = false;
  /** the owner closed or cut the socket: its close is not counted and not followed by a reconnect */
  private leaving = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** the timeout of the last connect(), reused by reconnects */
  private connectTimeoutMs = DEFAULT_TIMEOUT_MS;
  private readonly waiters = new Set<() => void>();
  private readonly opts: SimAgentOptions;

  constructor(opts: SimAgentOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.bootId = randomBytes(9).toString('base64url');
    this.labels = { ...(opts.labels ?? {}) };
    this.counters = opts.counters ?? newSimCounters();
    const names = typeof opts.services === 'number' || opts.services === undefined ? Array.from({ length: opts.services ?? 4 }, (_, i) => `svc-${i}`) : [...opts.services];
    const now = new Date().toISOString();
    names.forEach((name, i) => {
      const state = opts.initialState ?? 'healthy';
      this.services.set(name, { name, kind: opts.kind ?? 'vllm', url: `http://127.0.0.1:${18000 + (i % 1000)}`, state, reason: state === 'healthy' ? 'ready' : 'initial', since: now, ok: state === 'healthy', probeAt: now, dirty: false });
    });
  }

  /** The socket is open and `welcome` arrived. */
  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Events not yet acknowledged. */
  get unacked(): number {
    return this.spool.length;
  }

  /** The last seq used (0 before the first event). */
  get lastSeq(): number {
    return this.seq;
  }

  get serviceNames(): string[] {
    return [...this.services.keys()];
  }

  /** Bytes queued in the socket, not yet written. */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** The oldest event not yet acknowledged. */
  get oldestUnacked(): SpooledEvent | undefined {
    return this.spool[0];
  }

  /**
   * Opens a connection: upgrade with the Bearer token, `hello`, wait for `welcome`, then
   * `snapshot` (the full current state) and the replay of unacknowledged events.
   * Rejects on a refused upgrade, a close before `welcome`, or after `timeoutMs`.
   */
  async connect(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) throw new Error(`${this.id}: already connected`);
    clearTimeout(this.reconnectTimer);
    this.welcomed = false;
    this.leaving = false;
    this.connectTimeoutMs = timeoutMs;
    this.counters.connectAttempts++;
    const ws = new WebSocket(this.opts.url, { headers: { authorization: `Bearer ${this.opts.token}` }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(ws, data));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
    ws.on('error', () => undefined); // surfaced through 'close' / the connect promise
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.id}: no welcome within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        ws.off('unexpected-response', onRefused);
        ws.terminate();
        reject(err);
      };
      const onRefused = (_req: unknown, res: { statusCode?: number; resume(): void }) => {
        res.resume();
        bump(this.counters.upgradeRefusals, res.statusCode ?? 0);
        fail(new Error(`${this.id}: upgrade refused with HTTP ${res.statusCode}`));
      };
      ws.once('unexpected-response', onRefused);
      ws.once('open', () => {
        this.sendMsg({ type: 'hello', v: PROTOCOL_VERSION, agentId: this.id, bootId: this.bootId, labels: this.labels, agentVersion: 'sim-0.0.0', services: [...this.services.values()].map((s) => ({ name: s.name, kind: s.kind, url: s.url, ...(this.opts.commands ? { unit: `${s.name}.service` } : {}) })) });
      });
      const check = () => {
        if (this.welcomed) {
          clearTimeout(timer);
          this.waiters.delete(check);
          ws.off('unexpected-response', onRefused);
          resolve();
        } else if (ws.readyState === WebSocket.CLOSED) {
          fail(new Error(`${this.id}: closed before welcome (${JSON.stringify(this.closes.at(-1))})`));
        }
      };
      this.waiters.add(check);
    });
    this.sendMsg({ type: 'snapshot', v: PROTOCOL_VERSION, services: [...this.services.values()].map((s) => this.snapshotOf(s)), gpu: null });
    this.sendEvents(this.spool);
  }

  /**
   * Services (default: all) move to `to`: one `state_changed` event each (from their
   * current state), in one `events` message, then a `probes` message saying the same (at
   * once, or with the next flushProbes() with `probes: 'later'`). Returns the events. Works
   * while disconnected too: the events wait in the spool.
   */
  setState(to: ServiceState, reason: string, names: readonly string[] = this.serviceNames, options: { probes?: 'now' | 'later' } = {}): Event[] {
    const at = new Date().toISOString();
    const events: SpooledEvent[] = [];
    for (const name of names) {
      const s = this.services.get(name);
      if (!s) throw new Error(`${this.id}: no service ${name}`);
      if (s.state === to) continue;
      events.push({ event: { agentId: this.id, bootId: this.bootId, seq: ++this.seq, at, type: 'state_changed', service: name, from: s.state, to, reason }, firstSentAt: null });
      s.state = to;
      s.reason = reason;
      s.since = at;
      s.ok = to === 'healthy' || to === 'degraded';
      s.probeAt = at;
      s.dirty = true;
    }
    this.spool.push(...events);
    if (this.connected && events.length > 0) {
      this.sendEvents(events);
      if ((options.probes ?? 'now') === 'now') this.flushProbes();
    }
    return events.map((e) => e.event);
  }

  /**
   * One `probes` frame with the services changed since the last one (the real agent sends one
   * a second). Returns how many results were sent: 0 while disconnected.
   */
  flushProbes(): number {
    const results: ProbeResult[] = [];
    for (const s of this.services.values()) {
      if (!s.dirty) continue;
      s.dirty = false;
      results.push({ service: s.name, ok: s.ok, state: s.state, latencyMs: s.ok ? 12 : null, at: s.probeAt });
    }
    if (!this.connected) return 0;
    let sent = 0;
    for (let i = 0; i < results.length; i += Limits.maxProbeResultsPerMessage) {
      const chunk = results.slice(i, i + Limits.maxProbeResultsPerMessage);
      if (this.sendMsg({ type: 'probes', v: PROTOCOL_VERSION, results: chunk })) sent += chunk.length;
    }
    return sent;
  }

  /** A probe round of every service, reported in one `probes` frame as the real agent does each second. Returns the results sent. */
  probeRound(): number {
    const at = new Date().toISOString();
    for (const s of this.services.values()) {
      s.probeAt = at;
      s.dirty = true;
    }
    return this.flushProbes();
  }

  /** The agent's own `heartbeat` (the real agent sends one every 10 s). Returns whether it was sent. */
  heartbeat(): boolean {
    return this.connected && this.sendMsg({ type: 'heartbeat', v: PROTOCOL_VERSION, at: new Date().toISOString() });
  }

  /** healthy → down (retries exhausted), as the agent reports a crashed server. */
  down(names?: readonly string[], reason = 'connection refused (unit inactive)', options: { probes?: 'now' | 'later' } = {}): Event[] {
    return this.setState('down', reason, names, options);
  }

  /** → healthy: the server answers ready again. */
  recover(names?: readonly string[], reason = 'ready'): Event[] {
    return this.setState('healthy', reason, names);
  }

  /** Waits until every event so far is acknowledged (or the one with `seq`). */
  waitAcked(seq = this.seq, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.waitUntil(() => this.ackedSeq >= seq, timeoutMs, `${this.id}: ack of seq ${seq} (acked ${this.ackedSeq})`);
  }

  /** Closes the socket cleanly (1000) and waits for the close; the coordinator sees a disconnect. */
  async disconnect(timeoutMs = 5000): Promise<void> {
    this.stopReconnecting();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    ws.close(1000, 'sim agent leaving');
    try {
      await this.waitUntil(() => ws.readyState === WebSocket.CLOSED, timeoutMs, `${this.id}: close`);
    } catch {
      ws.terminate();
    }
  }

  /** Waits until the coordinator closed this agent's socket (it was stopped or killed). */
  waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const ws = this.ws;
    return this.waitUntil(() => !ws || ws.readyState === WebSocket.CLOSED, timeoutMs, `${this.id}: socket closed`);
  }

  /** Cuts the socket at once (no close handshake), as a crashed host. */
  terminate(): void {
    this.stopReconnecting();
    this.ws?.terminate();
  }

  private stopReconnecting(): void {
    this.leaving = true;
    clearTimeout(this.reconnectTimer);
    for (const t of this.loadTimers) clearTimeout(t);
    this.loadTimers.clear();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    this.closes.push({ code, reason });
    const hadWelcome = this.ws === ws && this.welcomed;
    if (this.ws === ws) this.welcomed = false;
    if (!this.leaving) {
      this.countClose(code, hadWelcome);
      this.scheduleReconnect(code);
    }
    this.notify();
  }

  private countClose(code: number, hadWelcome: boolean): void {
    bump(this.counters.closeCodes, code);
    if (hadWelcome) this.counters.disconnects++;
    else this.counters.connectFailures++;
  }

  private scheduleReconnect(code: number): void {
    const backoff = this.opts.reconnect;
    // 4001: another connection took this id, a bug in the caller that fighting it would hide
    if (!backoff || code === CloseCode.Replaced) return;
    const delay = backoff.minMs + Math.random() * backoff.jitterMs;
    // failures are counted by the close that follows them, which schedules the next try
    this.reconnectTimer = setTimeout(() => this.connect(this.connectTimeoutMs).catch(() => undefined), delay);
  }

  /** `events` frames of at most EVENTS_PER_MESSAGE, each event's first send time noted. */
  private sendEvents(batch: readonly SpooledEvent[]): void {
    for (let i = 0; i < batch.length; i += EVENTS_PER_MESSAGE) {
      const chunk = batch.slice(i, i + EVENTS_PER_MESSAGE);
      if (!this.sendMsg({ type: 'events', v: PROTOCOL_VERSION, events: chunk.map((e) => e.event) })) return;
      const now = performance.now();
      for (const e of chunk) e.firstSentAt ??= now;
    }
  }

  private snapshotOf(s: SimService): SnapshotService {
    return { name: s.name, kind: s.kind, url: s.url, state: s.state, reason: s.reason, since: s.since, lastProbe: { ok: s.ok, latencyMs: s.ok ? 12 : null, at: s.probeAt }, restarts: { count: 0, lastAt: null, lastOutcome: null } };
  }

  /** Validates (see validateOutgoing) and sends; false when the socket is not open. */
  private sendMsg(msg: AgentMessage): boolean {
    const everyFrame = (this.opts.validateOutgoing ?? 'every') === 'every';
    if (everyFrame || !validatedTypes.has(msg.type)) {
      const problem = checkAgentMessage(msg);
      if (problem) throw new Error(`${this.id}: would send an invalid ${msg.type}: ${problem}`);
      validatedTypes.add(msg.type);
    }
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeMessage(msg));
    return true;
  }

  private onFrame(ws: WebSocket, data: WebSocket.RawData): void {
    const parsed = parseCoordinatorMessage(data as Buffer);
    if (!parsed.ok) {
      this.invalidFrames++;
      ws.close(4400, `invalid: ${parsed.reason}`.slice(0, 120));
      return;
    }
    const msg = parsed.msg;
    this.opts.onMessage?.(this, msg);
    this.keep(msg);
    if (msg.type === 'welcome') {
      if (msg.ackedSeq && msg.ackedSeq.bootId === this.bootId) this.applyAck(msg.ackedSeq.seq);
      this.welcomed = true;
      this.counters.welcomes++;
    } else if (msg.type === 'ack') {
      if (msg.bootId === this.bootId) this.applyAck(msg.seq);
    } else if (msg.type === 'command' && this.opts.commands) {
      this.runCommand(msg.id, msg.service, this.opts.commands);
    }
    this.notify();
  }

  private runCommand(id: string, service: string, how: NonNullable<SimAgentOptions['commands']>): void {
    if (this.commandsRun.has(id)) return;
    this.commandsRun.add(id);
    this.emitEvent('command_received', service, `coordinator asked to restart ${service}`, { id, action: 'restart' });
    if (!this.services.has(service)) {
      this.emitEvent('command_result', service, `refused: service ${service} is not in this agent's config`, { id, ok: false, outcome: 'refused' });
      return;
    }
    this.setState('starting', 'restarted by the coordinator, loading', [service]);
    this.emitEvent('command_result', service, 'restarted', { id, ok: true, outcome: 'restarted', unit: `${service}.service` });
    const timer = setTimeout(() => {
      this.loadTimers.delete(timer);
      this.setState('healthy', 'ready', [service]);
      how.onHealthy?.(this, service, performance.now());
    }, how.loadTimeMs(this, service));
    this.loadTimers.add(timer);
  }

  /** One event of `type` (not a state change), spooled and sent as the agent's events are. */
  private emitEvent(type: Event['type'], service: string, reason: string, data: Record<string, unknown>): void {
    const spooled: SpooledEvent = { event: { agentId: this.id, bootId: this.bootId, seq: ++this.seq, at: new Date().toISOString(), type, service, reason, data }, firstSentAt: null };
    this.spool.push(spooled);
    if (this.connected) this.sendEvents([spooled]);
  }

  /** Adds to `inbox`, bounded: heartbeats come every few seconds for as long as the agent lives. */
  private keep(msg: CoordinatorMessage): void {
    const limit = this.opts.inboxLimit ?? 200;
    if (limit <= 0) return;
    this.inbox.push(msg);
    if (this.inbox.length > limit) this.inbox.splice(0, Math.ceil(limit / 2));
  }

  private applyAck(seq: number): void {
    if (seq <= this.ackedSeq) return;
    const newly = seq - this.ackedSeq;
    this.ackedSeq = seq;
    let drop = 0;
    while (drop < this.spool.length && this.spool[drop]!.event.seq <= seq) drop++;
    const acked = this.spool.splice(0, drop);
    this.opts.onAck?.(this, newly, Date.now(), acked);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

export interface SimFleetOptions extends Omit<SimAgentOptions, 'id'> {
  /** how many agents */
  count: number;
  /** agent ids are `${prefix}${index padded to 3}`; default `sim-` */
  prefix?: string;
}

/** Many simulated agents at once. */
export class SimFleet {
  readonly agents: SimAgent[];

  constructor(opts: SimFleetOptions) {
    const prefix = opts.prefix ?? 'sim-';
    this.agents = Array.from({ length: opts.count }, (_, i) => new SimAgent({ ...opts, id: `${prefix}${String(i).padStart(3, '0')}` }));
  }

  get serviceCount(): number {
    return this.agents.reduce((n, a) => n + a.services.size, 0);
  }

  /** Connects every agent, at most `parallel` handshakes at a time. */
  connectAll(parallel = 25, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return connectAll(this.agents, parallel, timeoutMs);
  }

  /**
   * Every service of every agent moves to `to`, spread evenly over `spreadMs` in `waves`
   * waves (agents in order). Resolves when the last wave is sent.
   */
  async setAll(to: ServiceState, reason: string, spreadMs = 0, waves = 1): Promise<void> {
    const per = Math.ceil(this.agents.length / waves);
    for (let w = 0; w < waves; w++) {
      for (const a of this.agents.slice(w * per, (w + 1) * per)) a.setState(to, reason);
      if (w < waves - 1 && spreadMs > 0) await new Promise((r) => setTimeout(r, spreadMs / Math.max(1, waves - 1)));
    }
  }

  /** Waits until every agent's events are acknowledged. */
  async waitAllAcked(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await Promise.all(this.agents.map((a) => a.waitAcked(undefined, timeoutMs)));
  }

  /** Terminates every socket. */
  close(): void {
    for (const a of this.agents) a.terminate();
  }
}

/** Connects `agents`, at most `parallel` handshakes at a time; bounded by each connect's timeout. */
export async function connectAll(agents: readonly SimAgent[], parallel = 25, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: Math.min(parallel, queue.length) }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await a.connect(timeoutMs);
    }),
  );
}

/**
 * Validates one frame of each type an agent sends in a storm (events, probes), so that with
 * `validateOutgoing: 'first-of-type'` a burst's send loop measures sending, not the
 * validators' first compilation.
 */
export function warmUpValidators(): void {
  const at = new Date().toISOString();
  const msgs: AgentMessage[] = [
    { type: 'events', v: PROTOCOL_VERSION, events: [{ agentId: 'warm-up', bootId: 'warmup', seq: 1, at, type: 'state_changed', service: 'svc-0', from: 'healthy', to: 'down', reason: 'warm-up' }] },
    { type: 'probes', v: PROTOCOL_VERSION, results: [{ service: 'svc-0', ok: false, state: 'down', latencyMs: null, at }] },
  ];
  for (const m of msgs) {
    const problem = checkAgentMessage(m);
    if (problem) throw new Error(`warm-up ${m.type} invalid: ${problem}`);
    validatedTypes.add(m.type);
    encodeMessage(m);
  }
}
