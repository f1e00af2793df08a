import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { CoordinatorLinkConfig } from '../../shared/config/agent-config.js';
import { CloseCode, PROTOCOL_VERSION, parseCoordinatorMessage, DEFAULT_MAX_FRAME_BYTES, Limits } from '../../shared/protocol/index.js';
import type { AgentMessage, CommandMessage, Event, MaintenanceMessage, GpuInfo, HelloService, ProbeResult, SnapshotService } from '../../shared/protocol/messages.js';
import type { AgentEvent, EventLog, EventSink } from '../events.js';
import type { ServiceSnapshot } from '../monitor.js';
import { Spool, type LostRange } from './spool.js';
import { plainRemoteUrls, tlsClientOptions, tlsFailure } from './transport.js';

/** What the link reads from the running agent. */
export interface LinkSource {
  agentId: string;
  labels: Record<string, string>;
  agentVersion: string;
  services: HelloService[];
  snapshot(): ServiceSnapshot[];
  /** the latest GPU readings and when they were taken (epoch ms); null: no GPU data */
  gpus(): { at: number; gpus: GpuInfo[] } | null;
}

export interface LinkOptions {
  config: CoordinatorLinkConfig;
  clock: Clock;
  logger: Logger;
  events: EventLog;
  source: LinkSource;
  /** how often routine probe results (and new GPU readings) are sent (latest per service; older ones are summarised) */
  probeFlushMs?: number;
  /** runs a coordinator command (agent/commands/runner.ts); without it every command is refused */
  onCommand?: (cmd: CommandMessage) => void;
  /** the host's maintenance window (agent/maintenance/pause.ts) */
  onMaintenance?: (msg: MaintenanceMessage) => void;
}

const RECONNECT_BASE_MS = 500;
/**
 * Replaced (4001) this often within the window means another process says hello with this
 * agent id: the two would take the connection from each other forever, so the agent waits
 * minutes between tries and says why (the coordinator raises LLMAgentDuplicateId).
 */
const DUPLICATE_REPLACEMENTS = 2;
const DUPLICATE_WINDOW_MS = 10 * 60_000;
const DUPLICATE_BACKOFF_MS = 5 * 60_000;
/** ws.bufferedAmount above this means the network is not keeping up: routine data waits */
const PRESSURE_BYTES = 1024 * 1024;

/**
 * The agent's side of docs/protocol.md: every event goes to the disk spool first, then over the
 * WebSocket; the spool forgets it only when the coordinator acknowledges it. On every
 * (re)connect: hello → welcome → snapshot → replay of the spool in order. Reconnects use
 * jittered exponential backoff and fail over across the configured URLs. Nothing here can
 * stop the agent from probing and restarting: the link only reads state and events.
 */
export class CoordinatorLink implements EventSink {
  private readonly spool: Spool;
  private ws: WebSocket | null = null;
  private ready = false;
  private stopped = false;
  private attempt = 0;
  private urlIndex = 0;
  private reconnectTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  /** when the GPU readings last sent were taken */
  private lastGpuAt: number | null = null;
  private flushScheduled = false;
  /** highest seq per boot already written to the current socket */
  private sentUpTo = new Map<string, number>();
  private lastProbeAt = new Map<string, string>();
  private droppedProbes = 0;
  private lastHeardAt = 0;
  private maxFrame = DEFAULT_MAX_FRAME_BYTES;
  private connectedOnce = false;
  /** when this agent's connections were replaced (4001) lately */
  private replacedAt: number[] = [];
  /** last TLS failure per URL: logged as an error once, then at debug until it changes */
  private tlsFailures = new Map<string, string>();

  constructor(private readonly opts: LinkOptions) {
    this.spool = Spool.open({
      dir: opts.config.spoolDir,
      maxBytes: opts.config.spoolMaxBytes,
      fsync: opts.config.fsync,
      onDrop: (lost) => this.reportGap(lost),
      onDiskError: (err) => this.reportDiskError(err),
    });
    const plain = plainRemoteUrls(opts.config.urls);
    if (plain.length) opts.logger.warn({ urls: plain }, `coordinator ${plain.join(', ')}: plain ws:// to another machine sends the agent token and events unencrypted; use wss://`);
    if (this.spool.size > 0) opts.logger.info({ pending: this.spool.size }, 'spool holds unacknowledged events from before; they will be replayed');
  }

  get pendingEvents(): number {
    return this.spool.size;
  }

  get connected(): boolean {
    return this.ready;
  }

  start(): void {
    this.connect();
    this.scheduleProbes();
  }

  /** EventSink: called by the EventLog for every event, in order. */
  accept(event: AgentEvent): void {
    this.spool.append(event as Event);
    this.scheduleFlush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const { clock } = this.opts;
    clock.clearTimeout(this.reconnectTimer);
    clock.clearTimeout(this.heartbeatTimer);
    clock.clearTimeout(this.probeTimer);
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(CloseCode.Normal, 'agent stopping');
      });
    } else ws?.terminate();
    this.spool.close();
  }

  private reportDiskError(err: NodeJS.ErrnoException | null): void {
    const { logger, config } = this.opts;
    if (err) {
      logger.error(
        { dir: config.spoolDir, code: err.code, err: err.message, pending: this.spool?.size },
        `spool: cannot write to ${config.spoolDir} (${err.code ?? err.message}); events are kept in memory and still sent, but an agent restart before the disk recovers loses the unacknowledged ones`,
      );
    } else logger.warn({ dir: config.spoolDir, pending: this.spool.size }, `spool: ${config.spoolDir} accepts writes again; every pending event is on disk`);
  }

  private reportGap(lost: LostRange[]): void {
    const count = lost.reduce((n, r) => n + r.count, 0);
    this.opts.logger.error({ lost }, `spool full: ${count} unacknowledged events dropped`);
    // emitted after the current append returns, so it takes the next seq and lands in the spool
    queueMicrotask(() =>
      this.opts.events.emit({
        type: 'gap',
        reason: `spool limit ${this.opts.config.spoolMaxBytes} bytes reached while the coordinator was unreachable: ${count} event(s) lost`,
        data: { lost: lost.map((r) => ({ bootId: r.bootId, fromSeq: r.fromSeq, toSeq: r.toSeq, count: r.count })) },
      }),
    );
  }

  private connect(): void {
    if (this.stopped) return;
    const urls = this.opts.config.urls;
    const url = urls[this.urlIndex % urls.length]!;
    const { logger } = this.opts;
    this.ready = false;
    this.sentUpTo.clear();
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.config.token}` },
      handshakeTimeout: 10_000,
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
      ...tlsClientOptions(url, this.opts.config),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.lastHeardAt = this.opts.clock.now();
      this.send({ type: 'hello', v: PROTOCOL_VERSION, agentId: this.opts.source.agentId, bootId: this.opts.events.bootId, labels: this.opts.source.labels, agentVersion: this.opts.source.agentVersion, services: this.opts.source.services });
    });
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(data as Buffer));
    ws.on('ping', () => {
      this.lastHeardAt = this.opts.clock.now();
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      logger.error({ url, status }, status === 401 ? 'coordinator refused the agent token (401); check coordinator.token' : `coordinator answered ${status} to the WebSocket upgrade`);
      // a bad token will not fix itself: back off to the maximum at once
      if (status === 401 || status === 403) this.attempt = Math.max(this.attempt, 30);
      ws.terminate();
    });
    ws.on('error', (err) => {
      const tls = tlsFailure(err, this.opts.config);
      if (tls === undefined) return logger.debug({ url, err: err.message }, 'coordinator link error');
      // retried with the usual backoff (a renewed certificate fixes it), but said loudly once
      const repeat = this.tlsFailures.get(url) === tls;
      this.tlsFailures.set(url, tls);
      logger[repeat ? 'debug' : 'error']({ url, code: (err as NodeJS.ErrnoException).code, reason: tls }, `cannot connect to coordinator ${url}: ${tls}`);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      const wasReady = this.ready;
      this.ready = false;
      this.ws = null;
      this.opts.clock.clearTimeout(this.heartbeatTimer);
      if (this.stopped) return;
      if (wasReady || code !== 1006) logger.warn({ url, code, reason: reason.toString() }, 'coordinator link closed');
      this.urlIndex += 1;
      this.scheduleReconnect(this.afterClose(code));
    });
  }

  /** What a close code says about retrying: a delay floor in ms (0: the usual backoff). */
  private afterClose(code: number): number {
    const { logger, source, clock } = this.opts;
    if (code === CloseCode.UnsupportedVersion) logger.error('coordinator speaks another protocol version; upgrade one side');
    if (code === CloseCode.Forbidden) {
      logger.error(
        { agentId: source.agentId },
        `coordinator refused agent id ${JSON.stringify(source.agentId)} for this token (4403): the token is bound to other agent ids in the coordinator's auth.agentTokens; fix agent.id or the coordinator's config`,
      );
      // a configuration problem will not fix itself: straight to the backoff cap
      this.attempt = Math.max(this.attempt, 30);
    }
    if (code !== CloseCode.Replaced) return 0;
    const now = clock.now();
    this.replacedAt = [...this.replacedAt.filter((t) => now - t < DUPLICATE_WINDOW_MS), now];
    if (this.replacedAt.length < DUPLICATE_REPLACEMENTS) return 0;
    const waitMs = Math.max(DUPLICATE_BACKOFF_MS, this.opts.config.reconnectMax);
    logger.error(
      { agentId: source.agentId, replaced: this.replacedAt.length, retryInMs: waitMs },
      `another agent process is connected to the coordinator as ${JSON.stringify(source.agentId)} (this connection was replaced ${this.replacedAt.length} times in 10 minutes): give each host its own agent.id; retrying every ${Math.round(waitMs / 60_000)} minutes`,
    );
    return waitMs;
  }

  private scheduleReconnect(floorMs = 0): void {
    const max = this.opts.config.reconnectMax;
    const ceiling = Math.min(max, RECONNECT_BASE_MS * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    // full jitter: a fleet of agents reconnecting after a coordinator restart spreads out
    const delay = Math.max(floorMs, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
    this.reconnectTimer = this.opts.clock.setTimeout(() => this.connect(), delay);
  }

  private onMessage(data: Buffer): void {
    this.lastHeardAt = this.opts.clock.now();
    const parsed = parseCoordinatorMessage(data, { maxBytes: 1024 * 1024 });
    if (!parsed.ok) {
      this.opts.logger.warn({ code: parsed.code, reason: parsed.reason }, 'invalid message from coordinator; reconnecting');
      this.ws?.close(CloseCode.InvalidFrame, parsed.code);
      return;
    }
    const msg = parsed.msg;
    switch (msg.type) {
      case 'welcome': {
        if (msg.limits?.maxPayload) this.maxFrame = msg.limits.maxPayload;
        if (msg.ackedSeq) this.spool.ack(msg.ackedSeq.bootId, msg.ackedSeq.seq);
        this.ready = true;
        this.attempt = 0;
        this.tlsFailures.clear();
        this.opts.logger.info({ pending: this.spool.size, reconnect: this.connectedOnce }, 'connected to coordinator');
        this.connectedOnce = true;
        this.sendSnapshot();
        this.flush();
        this.scheduleHeartbeat();
        break;
      }
      case 'ack':
        this.spool.ack(msg.bootId, msg.seq);
        break;
      case 'heartbeat':
        break;
      case 'command':
        if (this.opts.onCommand) this.opts.onCommand(msg);
        else this.opts.events.emit({ type: 'command_result', service: msg.service, reason: `command ${msg.action} not supported by this agent`, data: { id: msg.id, ok: false } });
        break;
      case 'maintenance':
        this.opts.onMaintenance?.(msg);
        break;
    }
  }

  private send(msg: AgentMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private sendSnapshot(): void {
    const services: SnapshotService[] = this.opts.source.snapshot().map((s) => ({
      name: s.name,
      kind: s.kind,
      url: s.url,
      state: s.state as SnapshotService['state'],
      reason: s.reason.slice(0, Limits.maxReasonLength),
      since: s.since,
      lastProbe: s.lastProbe,
      restarts: s.restarts,
    }));
    const reading = this.opts.source.gpus();
    this.lastGpuAt = reading?.at ?? null;
    this.send({ type: 'snapshot', v: PROTOCOL_VERSION, services, gpu: reading ? { at: new Date(reading.at).toISOString(), gpus: reading.gpus } : null });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.ready) return;
    this.flushScheduled = true;
    // coalesce events of one tick into one frame
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends spooled events not yet written to this socket, in order, in size-bounded frames. */
  private flush(): void {
    if (!this.ready || !this.ws) return;
    let batch: Event[] = [];
    let bytes = 64;
    const budget = Math.max(4096, this.maxFrame - 4096);
    const sendBatch = () => {
      if (!batch.length) return;
      this.send({ type: 'events', v: PROTOCOL_VERSION, events: batch });
      batch = [];
      bytes = 64;
    };
    for (const e of this.spool.events()) {
      if (e.seq <= (this.sentUpTo.get(e.bootId) ?? 0)) continue;
      const size = Buffer.byteLength(JSON.stringify(e)) + 1;
      if (batch.length && (bytes + size > budget || batch.length >= Limits.maxEventsPerMessage)) sendBatch();
      batch.push(e);
      bytes += size;
      this.sentUpTo.set(e.bootId, e.seq);
    }
    sendBatch();
  }

  private scheduleHeartbeat(): void {
    const every = this.opts.config.heartbeat;
    this.heartbeatTimer = this.opts.clock.setTimeout(() => {
      if (!this.ready) return;
      // nothing heard (no message, no ping) for 3 heartbeats: the connection is dead
      if (this.opts.clock.now() - this.lastHeardAt > every * 3) {
        this.opts.logger.warn('coordinator silent for 3 heartbeats; reconnecting');
        this.ws?.terminate();
        return;
      }
      this.send({ type: 'heartbeat', v: PROTOCOL_VERSION, at: new Date(this.opts.clock.now()).toISOString() });
      this.scheduleHeartbeat();
    }, every);
  }

  private scheduleProbes(): void {
    if (this.stopped) return;
    this.probeTimer = this.opts.clock.setTimeout(() => {
      this.sendProbes();
      this.sendGpus();
      this.scheduleProbes();
    }, this.opts.probeFlushMs ?? 1000);
  }

  /**
   * GPU readings newer than the last sent (the snapshot's or a `gpu` message's), so the
   * coordinator's figures follow the GPU monitor's interval. Under back-pressure they wait
   * for the next flush: only the latest reading matters.
   */
  private sendGpus(): void {
    const reading = this.opts.source.gpus();
    if (!reading || reading.at === this.lastGpuAt) return;
    if (!this.ready || !this.ws || this.ws.bufferedAmount > PRESSURE_BYTES) return;
    if (this.send({ type: 'gpu', v: PROTOCOL_VERSION, at: new Date(reading.at).toISOString(), gpus: reading.gpus })) this.lastGpuAt = reading.at;
  }

  /** Latest probe per service since the last send; under back-pressure they are counted, not queued. */
  private sendProbes(): void {
    const results: ProbeResult[] = [];
    for (const s of this.opts.source.snapshot()) {
      if (!s.lastProbe || this.lastProbeAt.get(s.name) === s.lastProbe.at) continue;
      this.lastProbeAt.set(s.name, s.lastProbe.at);
      results.push({ service: s.name, ok: s.lastProbe.ok, state: s.state as ProbeResult['state'], latencyMs: s.lastProbe.latencyMs, at: s.lastProbe.at, ...(s.servedBy ? { servedBy: s.servedBy } : {}) });
    }
    if (!results.length) return;
    if (!this.ready || !this.ws || this.ws.bufferedAmount > PRESSURE_BYTES) {
      this.droppedProbes += results.length;
      return;
    }
    const summarized = this.droppedProbes ? { summarized: { dropped: this.droppedProbes } } : {};
    if (this.send({ type: 'probes', v: PROTOCOL_VERSION, results, ...summarized })) this.droppedProbes = 0;
  }
}
