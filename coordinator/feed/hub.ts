import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import { FEED_SUBPROTOCOL, FEED_VERSION } from '../../shared/feed/messages.js';
import type { Logger } from '../../shared/logger.js';
import { CloseCode } from '../../shared/protocol/constants.js';
import { refuse } from '../hub/hub.js';
import { authorizeFeed, type FeedAuthDeps } from './auth.js';
import { FeedSource, type FeedFrame, type FeedSourceDeps } from './source.js';

export interface FeedLimits {
  /** connections at once; more are refused with 503 */
  maxClients: number;
  /** per client: bytes the coordinator may hold unsent before it stops sending deltas to it */
  maxBufferedBytes: number;
  /** deltas are split to stay under this (one change larger than it travels alone) */
  maxMessageBytes: number;
}

export interface FeedHubDeps extends Omit<FeedSourceDeps, 'onDirty'> {
  clock: Clock;
  logger: Logger;
  auth: FeedAuthDeps;
  limits: FeedLimits;
}

/** Deltas are coalesced: at most one flush per this many ms, the first after a quiet spell at once. */
export const FLUSH_INTERVAL_MS = 50;
/** What a client may send: heartbeats only. */
const MAX_CLIENT_FRAME_BYTES = 4096;
const CLOSE_TIMEOUT_MS = 5000;

interface FeedClient {
  ws: WebSocket;
  remote: string;
  /** over maxBufferedBytes: deltas are dropped until it drains, then it gets a snapshot */
  behind: boolean;
  alive: boolean;
  dropped: number;
  snapshots: number;
  /** the last seq this client was sent (snapshot or delta) */
  seq: number;
}

/** Per client, for tests and metrics: the hub's own accounting of what it holds. */
export interface FeedClientStats {
  remote: string;
  bufferedBytes: number;
  behind: boolean;
  dropped: number;
  snapshots: number;
  seq: number;
}

/**
 * The live feed endpoint (`/api/v1/feed`, docs/feed.md). Messages are rendered once and
 * written to every client; nothing is queued per client beyond the socket's own buffer,
 * which is held under `maxBufferedBytes`: a client whose buffer would pass it is marked
 * behind, gets nothing more, and is sent a fresh snapshot once its buffer has drained to a
 * quarter of the bound. So a stalled reader costs at most maxBufferedBytes plus one message.
 */
export class FeedHub {
  readonly source: FeedSource;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<FeedClient>();
  private flushTimer: TimerHandle | undefined;
  private lastFlushAt = -Infinity;
  private closed = false;

  constructor(private readonly deps: FeedHubDeps) {
    this.source = new FeedSource({ ...deps, onDirty: () => this.scheduleFlush() });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
      handleProtocols: (protocols: Set<string>) => (protocols.has(FEED_SUBPROTOCOL) ? FEED_SUBPROTOCOL : false),
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (this.closed) return refuse(socket, 503, 'Service Unavailable', 'shutting_down');
    const auth = authorizeFeed(req, this.deps.auth);
    if (!auth.ok) {
      this.deps.logger.info({ remote, reason: auth.message }, 'feed upgrade refused');
      const headers: Record<string, string> = auth.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="llm-health"' } : {};
      return refuse(socket, auth.status, auth.status === 400 ? 'Bad Request' : auth.status === 401 ? 'Unauthorized' : 'Forbidden', auth.code, headers);
    }
    if (this.clients.size >= this.deps.limits.maxClients) return refuse(socket, 503, 'Service Unavailable', 'too_many_feed_clients');
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.accept(ws, remote));
  }

  /** The alert pipeline evaluated: alerts may have changed. */
  alertsChanged(): void {
    this.source.alertsChanged();
  }

  /** A silence was created or expired. */
  silencesChanged(): void {
    this.source.silencesChanged();
  }

  /** Every second or so: time-driven changes, and snapshots for clients that drained. */
  tick(): void {
    this.source.recheck();
    this.flush();
    this.revive();
  }

  /** Once per heartbeat interval: a client that did not answer the last ping is cut. */
  heartbeat(): void {
    const text = JSON.stringify({ type: 'heartbeat', v: FEED_VERSION, seq: this.source.currentSeq, at: new Date(this.deps.clock.now()).toISOString() });
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
      if (!c.behind && c.seq === this.source.currentSeq) this.deliver(c, { seq: c.seq, text });
    }
  }

  /** Sends everything dirty to every client (or only updates the sent state when `force` and nobody listens). */
  flush(force = false): void {
    if (this.flushTimer) {
      this.deps.clock.clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.closed || (this.clients.size === 0 && !force) || !this.source.pending) return;
    this.lastFlushAt = this.deps.clock.now();
    for (const frame of this.source.collect(this.deps.limits.maxMessageBytes)) {
      for (const c of this.clients) this.deliver(c, frame);
    }
  }

  stats(): { clients: FeedClientStats[]; seq: number; limits: FeedLimits } {
    return {
      seq: this.source.currentSeq,
      limits: { ...this.deps.limits },
      clients: [...this.clients].map((c) => ({ remote: c.remote, bufferedBytes: c.ws.bufferedAmount, behind: c.behind, dropped: c.dropped, snapshots: c.snapshots, seq: c.seq })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deps.clock.clearTimeout(this.flushTimer);
    this.source.stop();
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, remote: string): void {
    if (this.closed) {
      ws.close(CloseCode.GoingAway, 'shutting down');
      return;
    }
    // bring the sent state up to date first, so the snapshot is everything up to its seq
    this.flush(true);
    const client: FeedClient = { ws, remote, behind: false, alive: true, dropped: 0, snapshots: 0, seq: 0 };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => ws.terminate());
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => this.onMessage(client, data.toString(), isBinary));
    this.sendSnapshot(client);
  }

  private onMessage(client: FeedClient, text: string, isBinary: boolean): void {
    client.alive = true;
    let type: unknown;
    try {
      type = isBinary ? undefined : (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      type = undefined;
    }
    if (type !== 'heartbeat') client.ws.close(CloseCode.InvalidFrame, 'clients may only send heartbeats');
  }

  private sendSnapshot(client: FeedClient): void {
    client.behind = false;
    client.snapshots++;
    this.deliver(client, this.source.snapshot(), true);
  }

  /**
   * Writes one frame unless that would push the client's buffer over the bound. `snapshot`:
   * the caller saw the buffer at most a quarter full, and a snapshot may be larger than the bound.
   */
  private deliver(client: FeedClient, frame: FeedFrame, snapshot = false): void {
    if (client.behind) {
      client.dropped++;
      return;
    }
    const buffered = client.ws.bufferedAmount;
    // an empty buffer always takes one message, however large (a snapshot of a big fleet)
    if (!snapshot && buffered > 0 && buffered + Buffer.byteLength(frame.text) > this.deps.limits.maxBufferedBytes) {
      client.behind = true;
      client.dropped++;
      this.deps.logger.debug({ remote: client.remote, buffered }, 'feed client behind: deltas dropped until it drains');
      return;
    }
    client.seq = frame.seq;
    client.ws.send(frame.text);
  }

  private revive(): void {
    const lowWater = this.deps.limits.maxBufferedBytes / 4;
    for (const c of this.clients) if (c.behind && c.ws.bufferedAmount <= lowWater) this.sendSnapshot(c);
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed || this.clients.size === 0) return;
    const wait = Math.max(0, this.lastFlushAt + FLUSH_INTERVAL_MS - this.deps.clock.now());
    this.flushTimer = this.deps.clock.setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, wait);
  }
}
