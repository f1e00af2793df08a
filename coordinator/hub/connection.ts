import type { RawData, WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { CloseCode, PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { AgentMessage, CommandMessage, CoordinatorMessage, Event, EventsMessage, HelloMessage, MaintenanceMessage, ProbesMessage } from '../../shared/protocol/messages.js';
import { closeCodeFor, encodeMessage, parseAgentMessage } from '../../shared/protocol/parse.js';
import type { AgentGrant } from '../agent-tokens.js';
import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetInput } from '../fleet/types.js';
import type { Store } from '../store/types.js';

/**
 * One agent WebSocket. Frames are validated synchronously as they arrive (so a bad frame
 * closes the socket before anything after it is looked at) and valid messages are then
 * processed one at a time, in order, on a promise chain — the store is async, and an
 * agent's events must be stored and acked in the order it sent them.
 */

/** Messages waiting for the store before we stop reading the socket (TCP then pushes back on the agent). */
const QUEUE_HIGH_WATER = 32;
const QUEUE_LOW_WATER = 8;
/** RFC 6455: a close reason is at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

export interface ConnectionRegistry {
  /** Makes `conn` the connection of its agent id, closing any previous one. */
  claim(conn: AgentConnection): void;
  /** Forgets `conn`; true when it was still its agent's current connection. */
  release(conn: AgentConnection): boolean;
}

/** Sees what hello'd agents report, for counters that fleet state cannot give back (metrics). */
export interface AgentInputObserver {
  /** events stored for the first time (replays are not repeated here) */
  eventsStored(agentId: string, events: readonly Event[]): void;
  probesReceived(agentId: string, msg: ProbesMessage): void;
}

export interface ConnectionDeps {
  store: Pick<Store, 'fleet' | 'events'>;
  observer?: AgentInputObserver;
  fleet: FleetTracker;
  clock: Clock;
  logger: Logger;
  registry: ConnectionRegistry;
  maxPayload: number;
  helloTimeout: number;
  /**
   * Sees every hello, snapshot, probes and newly stored event after the fleet did, also
   * those that changed nothing in the fleet state (a command_result changes no state).
   */
  observe?: (input: FleetInput) => void;
}

export class AgentConnection {
  agentId: string | null = null;
  /** cleared on each ping round, set by any pong or frame; still clear at the next round = dead peer */
  isAlive = true;
  bootId: string | null = null;
  private closing = false;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private helloTimer: TimerHandle | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly grant: AgentGrant,
    private readonly deps: ConnectionDeps,
  ) {
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => this.onPong());
    ws.on('close', (code) => this.onClose(code));
    // ws emits 'error' for protocol errors (including maxPayload, closed with 1009) and
    // then 'close'; without a listener the error would crash the process.
    ws.on('error', (err: Error & { code?: string }) => {
      this.deps.logger.warn({ agentId: this.agentId, remote: this.remote, code: err.code, reason: err.message }, 'agent connection error');
    });
    this.helloTimer = deps.clock.setTimeout(() => {
      if (this.agentId === null) this.reject(CloseCode.HelloTimeout, 'hello_timeout', `no hello within ${deps.helloTimeout}ms`, 0);
    }, deps.helloTimeout);
  }

  get open(): boolean {
    return !this.closing;
  }

  /** One round of liveness: terminate if the last ping went unanswered, else ping again. */
  heartbeat(): void {
    if (!this.isAlive) {
      this.deps.logger.warn({ agentId: this.agentId, remote: this.remote }, 'agent missed a heartbeat round; terminating');
      this.closing = true;
      this.ws.terminate();
      return;
    }
    this.isAlive = false;
    this.ws.ping();
    if (this.agentId !== null) this.send({ type: 'heartbeat', v: PROTOCOL_VERSION, at: new Date(this.deps.clock.now()).toISOString() });
  }

  /** Sends a command once this connection said hello; false when it cannot (closing, not yet identified). */
  /** A message the coordinator starts (a command, a maintenance window), once the agent said hello. */
  command(msg: CommandMessage | MaintenanceMessage): boolean {
    if (this.closing || this.agentId === null || this.ws.readyState !== this.ws.OPEN) return false;
    this.send(msg);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, clip(reason));
  }

  private onFrame(data: RawData, _isBinary: boolean): void {
    if (this.closing) return;
    this.isAlive = true;
    const parsed = parseAgentMessage(data, { maxBytes: this.deps.maxPayload });
    if (!parsed.ok) return this.reject(closeCodeFor(parsed.code), parsed.code, parsed.reason, frameLength(data));
    const msg = parsed.msg;

    if (this.agentId === null) {
      if (msg.type !== 'hello') return this.reject(CloseCode.ProtocolViolation, 'protocol_violation', `expected hello first, got ${msg.type}`, frameLength(data));
      this.deps.clock.clearTimeout(this.helloTimer);
      if (!this.grant.mayUse(msg.agentId)) return this.forbid(msg.agentId);
      this.agentId = msg.agentId;
      this.bootId = msg.bootId;
      this.deps.registry.claim(this);
    } else if (msg.type === 'hello') {
      return this.reject(CloseCode.ProtocolViolation, 'protocol_violation', 'hello sent twice on one connection', frameLength(data));
    } else if (msg.type === 'events') {
      const foreign = msg.events.find((e) => e.agentId !== this.agentId);
      if (foreign) return this.reject(CloseCode.ProtocolViolation, 'protocol_violation', 'event of another agent id', frameLength(data));
    }
    this.enqueue(msg);
  }

  private enqueue(msg: AgentMessage): void {
    this.pending++;
    if (this.pending >= QUEUE_HIGH_WATER && !this.ws.isPaused) this.ws.pause();
    this.queue = this.queue
      .then(() => (this.closing && msg.type !== 'events' ? undefined : this.process(msg)))
      .catch((err: unknown) => {
        // Nothing was acked for the failed message; the agent replays it after reconnecting.
        this.deps.logger.error({ agentId: this.agentId, type: msg.type, err: (err as Error)?.message }, 'processing an agent message failed');
        this.close(CloseCode.InternalError, 'internal error');
      })
      .finally(() => {
        this.pending--;
        if (this.pending <= QUEUE_LOW_WATER && this.ws.isPaused) this.ws.resume();
      });
  }

  private async process(msg: AgentMessage): Promise<void> {
    const { fleet, clock } = this.deps;
    const agentId = this.agentId!;
    const at = clock.now();
    switch (msg.type) {
      case 'hello':
        return this.processHello(msg, at);
      case 'events':
        return this.processEvents(msg, at);
      case 'snapshot':
        return this.report({ type: 'snapshot', at, agentId, msg });
      case 'probes':
        this.report({ type: 'probes', at, agentId, msg });
        return this.deps.observer?.probesReceived(agentId, msg);
      case 'gpu':
        return fleet.apply({ type: 'gpu', at, agentId, msg });
      case 'heartbeat':
        return fleet.apply({ type: 'seen', at, agentId });
    }
  }

  private async processHello(msg: HelloMessage, at: number): Promise<void> {
    const { store, fleet, logger, maxPayload } = this.deps;
    await store.fleet.recordHello({ id: msg.agentId, bootId: msg.bootId, labels: msg.labels, agentVersion: msg.agentVersion }, at);
    const seq = await store.events.lastSeq(msg.agentId, msg.bootId);
    this.report({ type: 'hello', at, msg });
    this.send({ type: 'welcome', v: PROTOCOL_VERSION, agentId: msg.agentId, ackedSeq: seq === null ? null : { bootId: msg.bootId, seq }, limits: { maxPayload } });
    logger.info({ agentId: msg.agentId, bootId: msg.bootId, agentVersion: msg.agentVersion, remote: this.remote, ackedSeq: seq }, 'agent connected');
  }

  private async processEvents(msg: EventsMessage, at: number): Promise<void> {
    const { store, fleet } = this.deps;
    const agentId = this.agentId!;
    const result = await store.events.appendEvents(agentId, msg.events, at);
    // Only new events reach the fleet state (and, later, alerts): exactly once.
    for (const event of result.inserted) this.report({ type: 'event', at, event });
    if (result.inserted.length > 0) this.deps.observer?.eventsStored(agentId, result.inserted);
    for (const ack of result.acks) {
      if (ack.seq > 0) this.send({ type: 'ack', v: PROTOCOL_VERSION, bootId: ack.bootId, seq: ack.seq });
    }
    if (result.inserted.length === 0) fleet.apply({ type: 'seen', at, agentId });
  }

  /** Into the fleet state, and to whoever follows the agents' reports as they come (restart jobs). */
  private report(input: FleetInput): void {
    this.deps.fleet.apply(input);
    this.deps.observe?.(input);
  }

  private onPong(): void {
    this.isAlive = true;
    if (this.agentId !== null && !this.closing) this.deps.fleet.apply({ type: 'seen', at: this.deps.clock.now(), agentId: this.agentId });
  }

  private onClose(code: number): void {
    this.closing = true;
    this.deps.clock.clearTimeout(this.helloTimer);
    if (this.agentId === null) return;
    const agentId = this.agentId;
    if (!this.deps.registry.release(this)) return; // replaced: the newer connection owns the agent now
    const at = this.deps.clock.now();
    this.deps.fleet.apply({ type: 'disconnected', at, agentId });
    this.deps.logger.info({ agentId, bootId: this.bootId, code, remote: this.remote }, 'agent disconnected');
    // After queued work, so a late batch cannot mark a disconnected agent as seen-connected.
    this.queue = this.queue.then(() =>
      this.deps.store.fleet.setConnected(agentId, false, at).catch((err: unknown) => {
        this.deps.logger.error({ agentId, err: (err as Error)?.message }, 'recording a disconnect failed');
      }),
    );
  }

  /** A hello for an id this connection's token is not bound to: nothing of it is stored. */
  private forbid(agentId: string): void {
    this.deps.logger.warn(
      { claimedAgentId: agentId, remote: this.remote, token: this.grant.source, allowed: this.grant.agents },
      `agent hello refused: ${this.grant.source} may not speak for agent id ${JSON.stringify(agentId)}`,
    );
    this.close(CloseCode.Forbidden, `forbidden: this token may not speak for agent id ${agentId}`);
  }

  private reject(code: number, kind: string, reason: string, bytes: number): void {
    // The reason names a path and a rule, never frame content or credentials.
    this.deps.logger.warn({ agentId: this.agentId, remote: this.remote, closeCode: code, kind, reason, bytes }, 'closing agent connection: bad frame');
    this.close(code, `${kind}: ${reason}`);
  }

  private send(msg: CoordinatorMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeMessage(msg));
  }
}

function frameLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.byteLength, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}

function clip(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out, 'utf8') > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1);
  return out;
}
