/**
 * The LLM server emulator: stands in for llama.cpp, vLLM, TGI, Ollama, SGLang and generic
 * OpenAI-compatible servers in tests, the demo and benchmarks. This module owns the server's
 * lifecycle: the port (which vLLM and TGI keep closed while loading), the load and crash
 * timers, and run-time mode switches.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine } from './engine.js';
import { createDispatcher } from './dispatch.js';
import { KINDS, type KindSpec } from './kinds/index.js';
import { DEFAULT_BIND_DELAY_MS, DEFAULT_MODELS, DEFAULT_SLOTS, DEFAULT_TOKENS_PER_SECOND, isEmulatorKind, isEmulatorMode, type Emulator, type EmulatorKind, type EmulatorMode, type EmulatorOptions, type EmulatorStats } from './types.js';

export * from './types.js';

/** Modes that hold no real decode: SIGTERM closes them at once, whatever the kind. */
const HUNG: ReadonlySet<EmulatorMode> = new Set(['hang', 'gen_hang', 'stall']);

/** Kinds whose upstream has no Prometheus endpoint at all. */
const NO_METRICS: ReadonlySet<EmulatorKind> = new Set(['ollama', 'openai']);

interface Resolved {
  kind: EmulatorKind;
  host: string;
  port: number;
  model: string;
  loadTimeMs: number;
  crashAfterMs?: number;
  mode: EmulatorMode;
  delayMs?: number;
  metrics: boolean;
  vllmMetricNames: 'new' | 'old';
  apiKey?: string;
  slots: number;
  tokensPerSecond: number;
  vision: boolean;
  bindDelayMs: number;
}

function positive(value: number | undefined, name: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new TypeError(`emulator: ${name} must be a positive ${integer ? 'integer' : 'finite number'}, got ${String(value)}`);
  }
  return value;
}

function nonNegative(value: number | undefined, name: string, allowInfinity = false): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new TypeError(`emulator: ${name} must be a non-negative ${allowInfinity ? 'number (or Infinity)' : 'finite number'}, got ${String(value)}`);
  }
  return value;
}

function resolveOptions(o: EmulatorOptions): Resolved {
  if (!isEmulatorKind(o.kind)) throw new TypeError(`emulator: unknown kind ${JSON.stringify(o.kind)}`);
  const mode = o.mode ?? 'ok';
  if (!isEmulatorMode(mode)) throw new TypeError(`emulator: unknown mode ${JSON.stringify(mode)}`);
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`emulator: port must be an integer 0..65535, got ${String(port)}`);
  if (o.vllmMetricNames !== undefined && o.vllmMetricNames !== 'new' && o.vllmMetricNames !== 'old') {
    throw new TypeError(`emulator: vllmMetricNames must be 'new' or 'old', got ${JSON.stringify(o.vllmMetricNames)}`);
  }
  return {
    kind: o.kind,
    host: o.host ?? '127.0.0.1',
    port,
    model: o.model ?? DEFAULT_MODELS[o.kind],
    loadTimeMs: nonNegative(o.loadTimeMs, 'loadTimeMs', true) ?? 0,
    crashAfterMs: nonNegative(o.crashAfterMs, 'crashAfterMs'),
    mode,
    delayMs: nonNegative(o.delayMs, 'delayMs'),
    metrics: NO_METRICS.has(o.kind) ? false : (o.metrics ?? o.kind !== 'llamacpp'),
    vllmMetricNames: o.vllmMetricNames ?? 'new',
    apiKey: o.apiKey,
    slots: positive(o.slots, 'slots', true) ?? DEFAULT_SLOTS[o.kind],
    tokensPerSecond: positive(o.tokensPerSecond, 'tokensPerSecond', false) ?? DEFAULT_TOKENS_PER_SECOND,
    vision: o.vision ?? true,
    bindDelayMs: nonNegative(o.bindDelayMs, 'bindDelayMs') ?? DEFAULT_BIND_DELAY_MS,
  };
}

class EmulatorServer implements Emulator {
  readonly kind: EmulatorKind;
  port: number;
  private readonly engine: Engine;
  private readonly spec: KindSpec;
  private readonly server: Server;
  private readonly events = new EventEmitter();
  /** one per request in progress, aborted when the port closes */
  private readonly live = new Set<AbortController>();
  private loadTimer: NodeJS.Timeout | undefined;
  private crashTimer: NodeJS.Timeout | undefined;
  private bindTimer: NodeJS.Timeout | undefined;
  private portOp: Promise<void> = Promise.resolve();
  private running = true;
  /** false until a late-binding server (llama.cpp starting up) has bound its port */
  private bound = true;
  private closing: Promise<void> | undefined;
  private terminating: Promise<void> | undefined;

  constructor(private readonly o: Resolved) {
    this.kind = o.kind;
    this.port = o.port;
    const loading = o.loadTimeMs > 0;
    this.engine = new Engine(
      {
        kind: o.kind,
        model: o.model,
        metrics: o.metrics,
        vllmMetricNames: o.vllmMetricNames,
        apiKey: o.apiKey,
        delayMs: o.delayMs,
        slots: o.slots,
        tokensPerSecond: o.tokensPerSecond,
        vision: o.vision,
      },
      loading ? 'loading' : o.mode === 'crash' ? 'ok' : o.mode,
    );
    this.spec = KINDS[o.kind](this.engine);
    const dispatch = createDispatcher(this.engine, this.spec, {
      state: () => this.state(),
      setMode: (mode, delayMs, answered) => {
        // Crashing or closing the port would cut the control answer off mid-flight.
        const dropsConnection = mode === 'crash' || (mode === 'loading' && this.spec.closedWhileLoading);
        if (dropsConnection) void answered.then(() => this.setMode(mode, { delayMs }));
        else this.setMode(mode, { delayMs });
      },
    });
    // A hung engine must stay hung: Node's default 5-minute request timeout would answer 408.
    this.server = createServer({ requestTimeout: 0 }, (req, res) => {
      const ac = new AbortController();
      this.live.add(ac);
      res.once('close', () => {
        ac.abort();
        this.live.delete(ac);
      });
      void dispatch(req, res, ac.signal);
    });
  }

  get url(): string {
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `http://${host}:${this.port}`;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async start(): Promise<void> {
    const { loadTimeMs, crashAfterMs, mode } = this.o;
    if (loadTimeMs > 0 && Number.isFinite(loadTimeMs)) this.loadTimer = unref(setTimeout(() => this.setMode(mode), loadTimeMs));
    const bindsLate = loadTimeMs > 0 && this.spec.bindsLate === true;
    if (bindsLate) this.bound = false;
    if (this.portWanted()) await this.syncPort();
    else await this.reservePort();
    if (bindsLate) {
      // Not unref'd: a caller waiting for 'listening' may hold nothing else on the loop.
      this.bindTimer = setTimeout(() => {
        this.bound = true;
        this.syncPort().catch(() => this.crash());
      }, Math.min(this.o.bindDelayMs, loadTimeMs));
    }
    if (crashAfterMs !== undefined) this.crashTimer = unref(setTimeout(() => this.crash(), crashAfterMs));
    if (loadTimeMs === 0 && mode === 'crash') setImmediate(() => this.crash());
  }

  mode(): EmulatorMode {
    return this.engine.mode();
  }

  setMode(mode: EmulatorMode, opts: { delayMs?: number } = {}): void {
    if (!isEmulatorMode(mode)) throw new TypeError(`emulator: unknown mode ${JSON.stringify(mode)}`);
    const delayMs = nonNegative(opts.delayMs, 'delayMs', mode === 'loading');
    if (!this.running) return;
    clearTimeout(this.loadTimer);
    this.loadTimer = undefined;
    if (mode === 'crash') return this.crash();
    if (mode === 'loading') {
      // Here delayMs is the load time; the server comes back 'ok' like a fresh start.
      this.engine.setMode('loading');
      if (delayMs !== undefined && Number.isFinite(delayMs)) this.loadTimer = unref(setTimeout(() => this.setMode('ok'), delayMs));
    } else {
      this.engine.setMode(mode, delayMs);
    }
    this.syncPort().catch(() => this.crash());
  }

  stats(): EmulatorStats {
    return { requests: this.engine.requests, generations: this.engine.generations };
  }

  on(event: 'crash' | 'listening', fn: () => void): void {
    this.events.on(event, fn);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      this.clearTimers();
      this.abortLive();
      this.engine.stop();
      await this.syncPort();
      // connections a lingering shutdown left open
      this.server.closeAllConnections();
    })();
    return this.closing;
  }

  terminate(): Promise<void> {
    const lingers = this.spec.lingersOnTerminate && this.running && !HUNG.has(this.engine.mode()) && this.engine.inFlight() > 0;
    if (!lingers) return this.terminating ?? this.close();
    this.terminating ??= (async () => {
      // llama.cpp's signal handler ends the task loop (decoding stops) and the HTTP server
      // stops listening, but each handler thread waits on until its client disconnects.
      this.running = false;
      this.clearTimers();
      this.engine.halt();
      await this.portOp;
      if (this.server.listening) {
        this.server.close();
        this.server.closeIdleConnections();
      }
      await this.engine.whenIdle();
      await this.close();
    })();
    return this.terminating;
  }

  private clearTimers(): void {
    clearTimeout(this.loadTimer);
    clearTimeout(this.crashTimer);
    clearTimeout(this.bindTimer);
  }

  private state(): Record<string, unknown> {
    const g = this.engine.gauges();
    return {
      kind: this.kind,
      mode: this.engine.mode(),
      model: this.o.model,
      loading: this.engine.loading(),
      requests: this.engine.requests,
      generations: this.engine.generations,
      pid: process.pid,
      port: this.port,
      slots: this.engine.slots,
      running: g.running,
      waiting: g.waiting,
    };
  }

  /** Like a real server dying: the port closes and 'crash' fires (the CLI then exits 1). */
  private crash(): void {
    if (!this.running) return;
    this.engine.setMode('crash');
    void this.close().then(() => this.events.emit('crash'));
  }

  private portWanted(): boolean {
    return this.running && this.bound && !(this.spec.closedWhileLoading && this.engine.loading());
  }

  /** Port changes run one at a time, so a quick loading → ok → loading sequence stays ordered. */
  private syncPort(): Promise<void> {
    const op = this.portOp.then(() => this.applyPort());
    this.portOp = op.catch(() => undefined);
    return op;
  }

  private async applyPort(): Promise<void> {
    const want = this.portWanted();
    if (want && !this.server.listening) {
      await listen(this.server, this.port, this.o.host);
      this.port = (this.server.address() as AddressInfo).port;
      this.events.emit('listening');
    } else if (!want && this.server.listening) {
      this.abortLive();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
  }

  /**
   * vLLM or llama.cpp starting on an ephemeral port: pick the port now (so callers know
   * where it will be) but refuse connections on it until the server binds.
   */
  private async reservePort(): Promise<void> {
    if (this.port !== 0) return;
    await listen(this.server, 0, this.o.host);
    this.port = (this.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private abortLive(): void {
    for (const ac of this.live) ac.abort();
    this.live.clear();
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function unref(timer: NodeJS.Timeout): NodeJS.Timeout {
  timer.unref();
  return timer;
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const emulator = new EmulatorServer(resolveOptions(options));
  await emulator.start();
  return emulator;
}
