/**
 * The emulated inference engine: the current failure mode, the progress counters and queue
 * gauges that the kinds' /metrics expose, and one generation as each mode makes it behave.
 * Busy moves the counters on its own; gen_hang and stall freeze them while requests sit in
 * the queue, which is exactly what tells a busy server from a hung one.
 */
import type { EmulatorKind, EmulatorMode } from './types.js';
import { sleep, untilAborted } from './http.js';

export interface EngineConfig {
  kind: EmulatorKind;
  model: string;
  metrics: boolean;
  vllmMetricNames: 'new' | 'old';
  apiKey?: string;
  delayMs?: number;
}

export interface Counters {
  promptTokens: number;
  generatedTokens: number;
  /** finished requests by finish reason (vLLM's request_success_total labels) */
  finished: { stop: number; length: number; abort: number };
  /** llama.cpp n_decode_total: one decode per generated token here */
  decodes: number;
  promptSeconds: number;
  generationSeconds: number;
}

export interface Gauges {
  running: number;
  waiting: number;
  /** 0..1 */
  kvCacheUsage: number;
}

export interface GenInput {
  promptTokens: number;
  /** undefined: the reply's natural length */
  maxTokens?: number;
  images: number;
}

export type GenOutcome =
  | { kind: 'ok'; text: string; tokens: string[]; promptTokens: number; completionTokens: number; finishReason: 'stop' | 'length'; promptMs: number; genMs: number }
  | { kind: 'failed' }
  /** the client left or the emulator closed: nothing to answer */
  | { kind: 'aborted' };

/** Queue depth each mode shows on top of the requests really in flight. */
const BASE_QUEUE: Partial<Record<EmulatorMode, [running: number, waiting: number]>> = {
  busy: [4, 3],
  stall: [4, 3],
  gen_hang: [1, 1],
};

/** Busy servers report progress about this often; agents read metrics on a seconds scale. */
const BUSY_TICK_MS = 100;
const DEFAULT_BUSY_DELAY_MS = 300;
export const DEFAULT_SLOW_DELAY_MS = 2000;
export const TOTAL_SLOTS = 4;

export class Engine {
  readonly counters: Counters = {
    promptTokens: 0,
    generatedTokens: 0,
    finished: { stop: 0, length: 0, abort: 0 },
    decodes: 0,
    promptSeconds: 0,
    generationSeconds: 0,
  };
  requests = 0;
  generations = 0;
  inFlight = 0;
  readonly startedAt = Date.now();
  private current: EmulatorMode;
  private delay: number | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly modeWaiters = new Set<() => void>();

  constructor(readonly config: EngineConfig, initial: EmulatorMode) {
    this.current = initial;
    this.delay = config.delayMs;
    this.syncTicker();
  }

  get kind(): EmulatorKind {
    return this.config.kind;
  }

  get model(): string {
    return this.config.model;
  }

  mode(): EmulatorMode {
    return this.current;
  }

  loading(): boolean {
    return this.current === 'loading';
  }

  delayMs(fallback: number): number {
    return this.delay ?? fallback;
  }

  setMode(mode: EmulatorMode, delayMs?: number): void {
    this.current = mode;
    if (delayMs !== undefined) this.delay = delayMs;
    this.syncTicker();
    for (const wake of [...this.modeWaiters]) wake();
  }

  gauges(): Gauges {
    const [baseRunning, baseWaiting] = BASE_QUEUE[this.current] ?? [0, 0];
    const running = baseRunning + this.inFlight;
    return { running, waiting: baseWaiting, kvCacheUsage: Math.min(0.97, 0.02 + running * 0.08) };
  }

  slotsFull(): boolean {
    return this.gauges().running >= TOTAL_SLOTS;
  }

  async generate(signal: AbortSignal, input: GenInput): Promise<GenOutcome> {
    this.generations++;
    if (!(await this.untilLoaded(signal))) return { kind: 'aborted' };
    const mode = this.current;
    if (mode === 'gen_fail') return { kind: 'failed' };
    this.inFlight++;
    try {
      if (mode === 'gen_hang' || mode === 'stall') {
        await untilAborted(signal);
        return { kind: 'aborted' };
      }
      if (mode === 'busy' && !(await sleep(this.delayMs(DEFAULT_BUSY_DELAY_MS), signal))) return { kind: 'aborted' };
      return this.complete(input);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Ollama-style servers load on demand: a request simply waits for the model. False when
   * the wait was abandoned.
   */
  async untilLoaded(signal: AbortSignal): Promise<boolean> {
    while (this.current === 'loading') {
      if (!(await this.nextModeChange(signal))) return false;
    }
    return !signal.aborted;
  }

  /** Releases hung generations and stops the busy ticker. */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const wake of [...this.modeWaiters]) wake();
  }

  private complete(input: GenInput): GenOutcome {
    const natural = replyWords(this.config.kind, input.images > 0);
    const limit = input.maxTokens ?? natural.length;
    const tokens = natural.slice(0, Math.max(0, limit));
    const finishReason = tokens.length < natural.length ? 'length' : 'stop';
    // Plausible timings for a mid-size model on one GPU, without actually waiting for them.
    const promptMs = 5 + input.promptTokens * 0.2;
    const genMs = tokens.length * 12;
    const c = this.counters;
    c.promptTokens += input.promptTokens;
    c.generatedTokens += tokens.length;
    c.decodes += tokens.length + 1;
    c.finished[finishReason]++;
    c.promptSeconds += promptMs / 1000;
    c.generationSeconds += genMs / 1000;
    return { kind: 'ok', text: tokens.join(' '), tokens, promptTokens: input.promptTokens, completionTokens: tokens.length, finishReason, promptMs, genMs };
  }

  private nextModeChange(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        this.modeWaiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        resolve(changed && !signal.aborted);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      this.modeWaiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private syncTicker(): void {
    if (this.current === 'busy' && !this.ticker) {
      this.ticker = setInterval(() => this.busyTick(), BUSY_TICK_MS);
      this.ticker.unref();
    } else if (this.current !== 'busy' && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private busyTick(): void {
    const c = this.counters;
    c.promptTokens += 96;
    c.generatedTokens += 24;
    c.decodes += 24;
    c.finished.stop += 1;
    c.promptSeconds += 0.02;
    c.generationSeconds += 0.1;
  }
}

const REPLIES: Record<EmulatorKind, string> = {
  llamacpp: 'Hello! This is an emulated llama.cpp server answering your prompt with a short reply.',
  vllm: 'Hello! This is an emulated vLLM server answering your prompt with a short reply.',
  tgi: 'Hello! This is an emulated text-generation-inference server answering your prompt.',
  ollama: 'Hello! This is an emulated Ollama server answering your prompt with a short reply.',
  sglang: 'Hello! This is an emulated SGLang server answering your prompt with a short reply.',
  openai: 'Hello! This is an emulated OpenAI-compatible server answering your prompt.',
};

/** One word is one token: easy to reason about in tests that check max_tokens. */
function replyWords(kind: EmulatorKind, withImage: boolean): string[] {
  const text = withImage ? 'The image shows a small square of solid colour on a plain background.' : REPLIES[kind];
  return text.split(' ');
}
