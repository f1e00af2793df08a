/**
 * The emulated inference engine: the current failure mode, the progress counters and queue
 * gauges that the kinds' /metrics expose, and one generation as each mode makes it behave.
 * Generations take real time in a fixed number of slots (see scheduler.ts). Busy adds
 * phantom load that moves the counters on its own; gen_hang and stall freeze decoding while
 * requests sit in the slots and the queue, which is exactly what tells a busy server from a
 * hung one.
 */
import type { EmulatorKind, EmulatorMode } from './types.js';
import { sleep } from './http.js';
import { Scheduler, type DecodeHooks, type SlotView } from './scheduler.js';
import { extendedReply, naturalReply } from './reply.js';

export interface EngineConfig {
  kind: EmulatorKind;
  model: string;
  metrics: boolean;
  vllmMetricNames: 'new' | 'old';
  apiKey?: string;
  delayMs?: number;
  /** generation slots (llama.cpp -np, vLLM max_num_seqs) */
  slots: number;
  /** decode steps per second; each step gives every busy slot one token */
  tokensPerSecond: number;
  /** llamacpp: whether a multimodal projector is loaded */
  vision: boolean;
}

export interface Counters {
  /** prompt tokens evaluated, counted when the prompt is (llama.cpp, vLLM) */
  promptTokens: number;
  /** tokens of finished requests, counted when each request ends (llama.cpp tokens_predicted_total) */
  generatedTokens: number;
  /** tokens as each decode step samples them (vLLM's per-step iteration stats) */
  decodedTokens: number;
  /** finished requests by finish reason (vLLM's request_success_total labels) */
  finished: { stop: number; length: number; abort: number };
  /** llama.cpp n_decode_total: one per decode step, however many slots it served */
  decodes: number;
  /** busy slots summed over decodes: n_busy_slots_per_decode = busySlots / decodes */
  busySlots: number;
  /** largest prompt + sampled tokens held by a slot (llama.cpp n_tokens_max, before the context cap) */
  maxSlotTokens: number;
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
  /** produce exactly maxTokens tokens, as llama.cpp's ignore_eos does */
  ignoreEos?: boolean;
  images: number;
}

export type GenOutcome =
  | { kind: 'ok'; text: string; tokens: string[]; promptTokens: number; completionTokens: number; finishReason: 'stop' | 'length'; promptMs: number; genMs: number; slot: number }
  | { kind: 'failed' }
  /** the client left or the emulator closed: nothing to answer */
  | { kind: 'aborted' };

/** Queue depth each mode shows on top of the requests really in flight. */
const BASE_QUEUE: Partial<Record<EmulatorMode, [running: number, waiting: number]>> = {
  busy: [4, 3],
  stall: [4, 3],
  gen_hang: [1, 1],
};

/** Modes in which the engine decodes nothing: requests wait in their slots or the queue. */
const FROZEN: ReadonlySet<EmulatorMode> = new Set(['hang', 'gen_hang', 'stall', 'loading', 'crash']);

/** Busy servers report progress about this often; agents read metrics on a seconds scale. */
const BUSY_TICK_MS = 100;
/** What the phantom load of busy mode decodes per tick, in steps of all its slots. */
const BUSY_STEPS_PER_TICK = 24;
const DEFAULT_BUSY_DELAY_MS = 300;
export const DEFAULT_SLOW_DELAY_MS = 2000;

/** Plausible prompt evaluation for a mid-size model on one GPU, without waiting for it. */
function promptMsFor(tokens: number): number {
  return 5 + tokens * 0.2;
}

interface Plan {
  natural: string[];
  /** tokens to generate: the natural reply cut short, or extended with filler */
  count: number;
  finishReason: 'stop' | 'length';
}

export class Engine {
  readonly counters: Counters = {
    promptTokens: 0,
    generatedTokens: 0,
    decodedTokens: 0,
    finished: { stop: 0, length: 0, abort: 0 },
    decodes: 0,
    busySlots: 0,
    maxSlotTokens: 0,
    promptSeconds: 0,
    generationSeconds: 0,
  };
  requests = 0;
  generations = 0;
  readonly startedAt = Date.now();
  private current: EmulatorMode;
  private delay: number | undefined;
  private halted = false;
  private ticker: NodeJS.Timeout | undefined;
  private readonly modeWaiters = new Set<() => void>();
  private readonly scheduler: Scheduler;

  constructor(readonly config: EngineConfig, initial: EmulatorMode) {
    this.current = initial;
    this.delay = config.delayMs;
    this.scheduler = new Scheduler(config.slots, config.tokensPerSecond, this.decodeHooks(), () => !this.halted && !FROZEN.has(this.current));
    this.syncTicker();
  }

  get kind(): EmulatorKind {
    return this.config.kind;
  }

  get model(): string {
    return this.config.model;
  }

  get slots(): number {
    return this.config.slots;
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
    this.scheduler.wake();
    for (const wake of [...this.modeWaiters]) wake();
  }

  gauges(): Gauges {
    const [baseRunning, baseWaiting] = BASE_QUEUE[this.current] ?? [0, 0];
    const running = Math.min(this.slots, baseRunning) + this.scheduler.busy;
    const waiting = baseWaiting + this.scheduler.queued;
    return { running, waiting, kvCacheUsage: Math.min(0.97, 0.02 + running * 0.08) };
  }

  /** Requests really holding a slot or waiting for one (not busy mode's phantoms). */
  inFlight(): number {
    return this.scheduler.busy + this.scheduler.queued;
  }

  slotsFull(): boolean {
    return this.gauges().running >= this.slots;
  }

  slotViews(): SlotView[] {
    return this.scheduler.slotViews();
  }

  async generate(signal: AbortSignal, input: GenInput): Promise<GenOutcome> {
    this.generations++;
    if (!(await this.untilLoaded(signal))) return { kind: 'aborted' };
    if (this.current === 'gen_fail') return { kind: 'failed' };
    if (this.current === 'busy' && !(await sleep(this.delayMs(DEFAULT_BUSY_DELAY_MS), signal))) return { kind: 'aborted' };
    const plan = this.plan(input);
    const { result, job } = await this.scheduler.run({ promptTokens: input.promptTokens, tokens: plan.count }, signal);
    const c = this.counters;
    // A cancelled request's tokens never reach tokens_predicted_total (checked on b10472),
    // and it counts as no finished request: a hung engine whose clients give up shows none.
    if (result === 'aborted') return { kind: 'aborted' };
    const genMs = job.produced * this.scheduler.stepMs;
    c.generatedTokens += job.produced;
    c.generationSeconds += genMs / 1000;
    c.finished[plan.finishReason]++;
    // Written out only now: a long generation's text is large, and a cancelled one never is.
    const tokens = extendedReply(plan.natural, plan.count);
    return {
      kind: 'ok',
      text: tokens.join(' '),
      tokens,
      promptTokens: input.promptTokens,
      completionTokens: tokens.length,
      finishReason: plan.finishReason,
      promptMs: promptMsFor(input.promptTokens),
      genMs,
      slot: job.slot,
    };
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

  /**
   * Decoding stops for good while requests keep their slots: llama.cpp on SIGTERM ends its
   * task loop but its HTTP threads wait on until their clients go.
   */
  halt(): void {
    this.halted = true;
    this.stopTimers();
  }

  /** Resolves once no request holds a slot or waits for one. */
  whenIdle(): Promise<void> {
    return this.scheduler.whenEmpty();
  }

  /** For good: stops the busy ticker and the decode loop, and wakes requests waiting for a load. */
  stop(): void {
    this.halted = true;
    this.stopTimers();
    for (const wake of [...this.modeWaiters]) wake();
  }

  private stopTimers(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.scheduler.stop();
  }

  private plan(input: GenInput): Plan {
    const natural = naturalReply(this.config.kind, input.images > 0);
    if (input.ignoreEos && input.maxTokens !== undefined) return { natural, count: input.maxTokens, finishReason: 'length' };
    const count = Math.min(natural.length, Math.max(0, input.maxTokens ?? natural.length));
    return { natural, count, finishReason: count < natural.length ? 'length' : 'stop' };
  }

  private decodeHooks(): DecodeHooks {
    const c = this.counters;
    return {
      prompt: (job) => {
        c.promptTokens += job.promptTokens;
        c.promptSeconds += promptMsFor(job.promptTokens) / 1000;
      },
      decode: (busy, sampled, largest) => {
        c.maxSlotTokens = Math.max(c.maxSlotTokens, largest);
        c.decodes++;
        c.busySlots += busy;
        c.decodedTokens += sampled;
      },
    };
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
    if (this.current === 'busy' && !this.ticker && !this.halted) {
      this.ticker = setInterval(() => this.busyTick(), BUSY_TICK_MS);
      this.ticker.unref();
    } else if (this.current !== 'busy' && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  /** Other clients' work: their decodes every tick, and one of their requests finishing. */
  private busyTick(): void {
    const c = this.counters;
    const phantoms = Math.min(this.slots, BASE_QUEUE.busy![0]);
    c.decodes += BUSY_STEPS_PER_TICK;
    c.busySlots += BUSY_STEPS_PER_TICK * phantoms;
    c.decodedTokens += BUSY_STEPS_PER_TICK * phantoms;
    c.promptTokens += 96;
    c.promptSeconds += 0.02;
    c.generatedTokens += BUSY_STEPS_PER_TICK;
    c.generationSeconds += 0.1;
    c.finished.stop += 1;
  }
}
