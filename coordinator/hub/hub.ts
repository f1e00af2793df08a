import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { CloseCode } from '../../shared/protocol/constants.js';
import type { CommandMessage, MaintenanceMessage } from '../../shared/protocol/messages.js';
import type { AgentGrant, AgentTokens } from '../agent-tokens.js';
import { bearerToken } from '../auth.js';
import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetInput } from '../fleet/types.js';
import type { Store } from '../store/types.js';
import { AgentConnection, type AgentInputObserver, type ConnectionRegistry } from './connection.js';

export interface HubDeps {
  /** agents' hellos and connection flags; their events */
  store: Pick<Store, 'fleet' | 'events'>;
  fleet: FleetTracker;
  clock: Clock;
  logger: Logger;
  agentTokens: AgentTokens;
  /** bytes; larger frames are closed by ws itself with 1009 before being buffered */
  maxPayload: number;
  helloTimeout: number;
  /** every agent report as it is processed (ConnectionDeps.observe) */
  observe?: (input: FleetInput) => void;
  /** metrics: stored events and received probe results */
  observer?: AgentInputObserver;
}

/**
 * ws waits this long for the peer's close frame after we close (its default is 30 s); a
 * peer that never answers would otherwise hold a socket that long per bad frame.
 */
const CLOSE_TIMEOUT_MS = 5000;
/** On shutdown, how long agents get to answer our close frame before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * The agent WebSocket endpoint (`/agent`). Authentication happens at the HTTP upgrade, so
 * an unauthenticated peer never gets a WebSocket and never reaches the store; everything
 * after that is per-connection (connection.ts). The HTTP server routes upgrades here.
 */
/**
 * A hello that replaces a live connection of another boot is either an agent restarted before
 * its old socket timed out (once) or two processes sharing one agent id (again and again).
 */
const DUPLICATE_REPLACEMENTS = 2;
const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** Heartbeat slices per interval (see tick). */
export const HEARTBEAT_SLICES = 10;

export class AgentHub implements ConnectionRegistry {
  private readonly wss: WebSocketServer;
  /** every open connection, including those still waiting for hello */
  private readonly connections = new Map<AgentConnection, WebSocket>();
  /** which heartbeat slice a connection belongs to (see tick) */
  private readonly slots = new WeakMap<AgentConnection, number>();
  private nextSlot = 0;
  private tickCount = 0;
  /** the current connection of each agent id */
  private readonly byAgent = new Map<string, AgentConnection>();
  /** when each agent id's connection was last replaced by another boot's */
  private readonly replacements = new Map<string, number[]>();
  private closed = false;

  constructor(private readonly deps: HubDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxPayload,
      // Compression off: it would let a small frame inflate past maxPayload's intent and costs CPU per agent.
      perMessageDeflate: false,
      clientTracking: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get connectedAgents(): string[] {
    return [...this.byAgent.keys()];
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (this.closed) return refuse(socket, 503, 'Service Unavailable', 'shutting_down');
    const token = bearerToken(req.headers.authorization);
    const grant = this.deps.agentTokens.authenticate(token);
    if (!grant) {
      this.deps.logger.warn({ remote, reason: token === undefined ? 'missing bearer token' : 'unknown token' }, 'agent upgrade refused');
      return refuse(socket, 401, 'Unauthorized', 'unauthorized', { 'WWW-Authenticate': 'Bearer realm="llm-health"' });
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.accept(ws, remote, grant));
  }

  private accept(ws: WebSocket, remote: string, grant: AgentGrant): void {
    if (this.closed) {
      ws.close(CloseCode.GoingAway, 'shutting down');
      return;
    }
    const { store, fleet, clock, logger, maxPayload, helloTimeout, observe, observer } = this.deps;
    const conn = new AgentConnection(ws, remote, grant, { store, fleet, clock, logger, registry: this, maxPayload, helloTimeout, observe, ...(observer ? { observer } : {}) });
    this.connections.set(conn, ws);
    this.slots.set(conn, this.nextSlot++ % HEARTBEAT_SLICES);
    ws.on('close', () => this.connections.delete(conn));
  }

  claim(conn: AgentConnection): void {
    const agentId = conn.agentId!;
    const previous = this.byAgent.get(agentId);
    this.byAgent.set(agentId, conn);
    if (previous && previous !== conn) {
      this.deps.logger.info({ agentId, remote: conn.remote, previous: previous.remote }, 'agent reconnected; closing its previous connection');
      previous.close(CloseCode.Replaced, 'replaced by a newer connection');
      if (previous.bootId !== conn.bootId) this.countReplacement(conn, previous);
    }
  }

  private countReplacement(conn: AgentConnection, previous: AgentConnection): void {
    const agentId = conn.agentId!;
    const now = this.deps.clock.now();
    const recent = [...(this.replacements.get(agentId) ?? []).filter((t) => now - t < DUPLICATE_WINDOW_MS), now];
    this.replacements.set(agentId, recent);
    if (recent.length < DUPLICATE_REPLACEMENTS) return;
    this.deps.logger.error(
      { agentId, remote: conn.remote, previous: previous.remote, replacements: recent.length },
      `two agent processes use the agent id ${JSON.stringify(agentId)} (${conn.remote} and ${previous.remote}): they keep replacing each other's connection; give each host its own agent.id`,
    );
    this.deps.fleet.apply({ type: 'duplicate', at: now, agentId });
  }

  /** Sends a command to the agent's current connection; false when it has none. */
  /** The host's maintenance window (coordinator/maintenance/agent-sync.ts); false without a connection. */
  sendMaintenance(agentId: string, msg: MaintenanceMessage): boolean {
    return this.byAgent.get(agentId)?.command(msg) ?? false;
  }

  sendCommand(agentId: string, msg: CommandMessage): boolean {
    return this.byAgent.get(agentId)?.command(msg) ?? false;
  }

  release(conn: AgentConnection): boolean {
    if (conn.agentId === null || this.byAgent.get(conn.agentId) !== conn) return false;
    this.byAgent.delete(conn.agentId);
    return true;
  }

  /** One liveness round over every connection; the composition root runs it every heartbeat interval. */
  /**
   * Call HEARTBEAT_SLICES times per heartbeat interval: each call pings one slice of the
   * connections, so every agent is pinged once per interval but thousands of pongs do not
   * arrive in the same instant (which stalled event processing for ~0.4 s at 3,000 agents).
   */
  tick(): void {
    const slice = this.tickCount++ % HEARTBEAT_SLICES;
    for (const conn of this.connections.keys()) if (this.slots.get(conn) === slice) conn.heartbeat();
  }

  /** Closes every agent connection with 1001 (agents reconnect with backoff). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sockets = [...this.connections.values()];
    const gone = Promise.all(sockets.map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise<void>((r) => ws.once('close', () => r())))));
    for (const conn of this.connections.keys()) conn.close(CloseCode.GoingAway, 'coordinator shutting down');
    const ac = new AbortController();
    await Promise.race([gone, this.deps.clock.sleep(SHUTDOWN_GRACE_MS, ac.signal).catch(() => undefined)]);
    ac.abort();
    for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

export function refuse(socket: Duplex, status: number, text: string, code: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message: text } });
  const head = [
    `HTTP/1.1 ${status} ${text}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}
