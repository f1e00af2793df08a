/**
 * Generation slots and the decode loop, shaped after llama.cpp's server (`tools/server/
 * server-context.cpp`): a fixed number of slots, requests beyond them wait in a FIFO queue,
 * and each decode step gives one token to every busy slot at once (a batched
 * `llama_decode()`). A new request's prompt is evaluated in the step that also samples its
 * first token, so a lone request of n tokens costs n decodes, as b10472 counts them.
 *
 * Steps run at `tokensPerSecond` in bursts per timer tick, so a short reply finishes within
 * the first tick while a long one takes real time.
 */

/** Fine enough for agents that read metrics every second, coarse enough to cost nothing. */
const TICK_MS = 10;

export interface JobSpec {
  promptTokens: number;
  /** tokens to produce; 0 evaluates the prompt only */
  tokens: number;
}

export interface Job extends Readonly<JobSpec> {
  /** llama.cpp's id_task */
  readonly task: number;
  /** tokens sampled so far */
  produced: number;
  /** decode steps this job took part in: its virtual time */
  steps: number;
  prompted: boolean;
  /** the slot it holds; -1 while deferred */
  slot: number;
}

export interface SlotView {
  id: number;
  job?: Readonly<Job>;
}

/** What the decode loop reports as it goes, for the counters the kinds expose. */
export interface DecodeHooks {
  /** the prompt of `job` was evaluated */
  prompt(job: Job): void;
  /**
   * One decode: `busy` slots took part, `sampled` of them received a token, and the fullest
   * slot's cache held `largest` tokens (prompt and sampled tokens, the last one not yet decoded).
   */
  decode(busy: number, sampled: number, largest: number): void;
}

interface Entry {
  job: Job;
  settle(result: 'done' | 'aborted'): void;
}

export class Scheduler {
  private readonly slots: Array<Entry | undefined>;
  /** when each slot was last released, for llama.cpp's least-recently-used pick */
  private readonly lastUsed: number[];
  private readonly queue: Entry[] = [];
  private readonly emptyWaiters = new Set<() => void>();
  private nextTask = 0;
  private stepCount = 0;
  private credit = 0;
  private lastRefill = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Immediate | undefined;

  constructor(
    readonly size: number,
    readonly tokensPerSecond: number,
    private readonly hooks: DecodeHooks,
    /** false while the engine is frozen (a hung or terminated server decodes nothing) */
    private readonly canDecode: () => boolean,
  ) {
    this.slots = new Array<Entry | undefined>(size).fill(undefined);
    this.lastUsed = new Array<number>(size).fill(-1);
  }

  get busy(): number {
    return this.slots.filter(Boolean).length;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Virtual duration of one decode step. */
  get stepMs(): number {
    return 1000 / this.tokensPerSecond;
  }

  slotViews(): SlotView[] {
    return this.slots.map((entry, id) => (entry ? { id, job: entry.job } : { id }));
  }

  /**
   * Runs `spec` through a slot. Settles in the step that samples the last token (the caller
   * then runs before any other request is served), or 'aborted' when `signal` fires first,
   * with the job as it stood.
   */
  run(spec: JobSpec, signal: AbortSignal): Promise<{ result: 'done' | 'aborted'; job: Job }> {
    const job: Job = { ...spec, task: this.nextTask++, produced: 0, steps: 0, prompted: false, slot: -1 };
    if (signal.aborted) return Promise.resolve({ result: 'aborted', job });
    return new Promise((resolve) => {
      const onAbort = () => {
        if (this.remove(entry)) entry.settle('aborted');
      };
      const entry: Entry = {
        job,
        settle: (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve({ result, job });
          this.notifyIfEmpty();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
      this.admit();
      this.wake();
    });
  }

  /** Resumes decoding after the engine thawed (a mode change). */
  wake(): void {
    if (this.timer || this.pending || !this.hasWork() || !this.canDecode()) return;
    // A fresh burst: whatever fits in one tick completes at once, as on an idle server.
    this.credit = Math.max(1, this.tokensPerSecond * (TICK_MS / 1000));
    this.lastRefill = Date.now();
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.loop();
    });
  }

  /** Resolves once no request holds a slot or waits for one. */
  whenEmpty(): Promise<void> {
    if (!this.hasWork()) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.add(resolve));
  }

  stop(): void {
    clearTimeout(this.timer);
    if (this.pending) clearImmediate(this.pending);
    this.timer = undefined;
    this.pending = undefined;
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.slots.some(Boolean);
  }

  private loop(): void {
    this.timer = undefined;
    const now = Date.now();
    const perTick = Math.max(1, this.tokensPerSecond * (TICK_MS / 1000));
    // A server that was starved of CPU does not catch up afterwards.
    this.credit = Math.min(this.credit + ((now - this.lastRefill) * this.tokensPerSecond) / 1000, 2 * perTick);
    this.lastRefill = now;
    while (this.credit >= 1 && this.hasWork() && this.canDecode()) {
      this.step();
      this.credit -= 1;
    }
    if (this.hasWork() && this.canDecode()) {
      this.timer = setTimeout(() => this.loop(), TICK_MS);
      this.timer.unref();
    }
  }

  private step(): void {
    this.admit();
    const active = this.slots.filter((e): e is Entry => e !== undefined);
    if (active.length === 0) return;
    this.stepCount++;
    let sampled = 0;
    let largest = 0;
    const finished: Array<[number, Entry]> = [];
    for (const [id, entry] of this.slots.entries()) {
      if (!entry) continue;
      const job = entry.job;
      job.steps++;
      if (!job.prompted) {
        job.prompted = true;
        this.hooks.prompt(job);
      }
      if (job.produced < job.tokens) {
        job.produced++;
        sampled++;
      }
      largest = Math.max(largest, job.promptTokens + job.produced - 1);
      if (job.produced >= job.tokens) finished.push([id, entry]);
    }
    this.hooks.decode(active.length, sampled, largest);
    for (const [id, entry] of finished) {
      this.slots[id] = undefined;
      this.lastUsed[id] = this.stepCount;
      entry.settle('done');
    }
    this.admit();
  }

  /** Deferred requests take free slots in arrival order. */
  private admit(): void {
    while (this.queue.length > 0) {
      const id = this.freeSlot();
      if (id === undefined) return;
      const entry = this.queue.shift()!;
      entry.job.slot = id;
      this.slots[id] = entry;
    }
  }

  private freeSlot(): number | undefined {
    let best: number | undefined;
    for (let id = 0; id < this.size; id++) {
      if (this.slots[id]) continue;
      if (best === undefined || this.lastUsed[id]! < this.lastUsed[best]!) best = id;
    }
    return best;
  }

  private remove(entry: Entry): boolean {
    const queuedAt = this.queue.indexOf(entry);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      return true;
    }
    const id = this.slots.indexOf(entry);
    if (id < 0) return false;
    this.slots[id] = undefined;
    this.lastUsed[id] = this.stepCount;
    this.admit();
    this.wake();
    return true;
  }

  private notifyIfEmpty(): void {
    if (this.hasWork()) return;
    for (const resolve of [...this.emptyWaiters]) resolve();
    this.emptyWaiters.clear();
  }
}
