import type { Clock, TimerHandle } from '../../shared/clock.js';

/**
 * Up to `retries` attempts at one thing, with hedging: a failed attempt is followed by the
 * next one `retryDelay` later, and an attempt that has had no answer for `retryDelay` gets a
 * sibling started beside it, so a hung server is confirmed by `retries` independent timeouts
 * in about timeout + (retries - 1) * retryDelay rather than retries * timeout + (retries - 1)
 * * retryDelay.
 *
 * Only an attempt's cheap first step is ever sent twice: an attempt about to send work that
 * must not be duplicated (a generation) claims the ladder, which cancels its siblings; a
 * sibling that tries to claim after that stops. The ladder ends at the `retries`-th failure,
 * not at the `retries`-th launch: while attempts are pending one more hedge may go out
 * (retries >= 2), so a server that drops every request for a moment is survived, and a hung
 * one still fails `retries` times at the same moment as before.
 */

export interface LadderAttempt {
  /** aborted when a sibling claimed the ladder, or the ladder ended */
  signal: AbortSignal;
  /** true: this attempt may go on alone; false: a sibling claimed first, stop now */
  claim(): boolean;
}

/** ok and final end the ladder (final: an answer that retrying cannot change); failed counts. */
export type AttemptJudgement = 'ok' | 'final' | 'failed';

export interface LadderOptions<R> {
  clock: Clock;
  retries: number;
  retryDelay: number;
  /** ends the ladder early (agent shutdown): it returns what it has */
  signal?: AbortSignal;
  attempt(a: LadderAttempt): Promise<R>;
  judge(result: R): AttemptJudgement;
  /** after each failure: true ends the ladder now (a crash confirmed by other evidence) */
  stopAfter?(result: R): Promise<boolean>;
  /** each failure that another attempt will follow */
  onRetry?(result: R): void;
}

export interface LadderResult<R> {
  /** the deciding attempt's result; undefined only when no attempt finished */
  result: R | undefined;
  /** attempts that count: the failures when they confirmed the failure, else every launch */
  attempts: number;
  failures: number;
}

interface Flight<R> {
  id: number;
  controller: AbortController;
  /** cancelled by a sibling's claim: whatever it returns (to a race already under way) is ignored */
  cancelled: boolean;
  done: Promise<{ flight: Flight<R>; result: R }>;
}

/** A promise that never settles: the hedge slot of a race when no hedge may be launched. */
const NEVER = new Promise<never>(() => {});

export async function runLadder<R>(o: LadderOptions<R>): Promise<LadderResult<R>> {
  const ladder = new Ladder(o);
  try {
    return await ladder.run();
  } finally {
    ladder.abortAll();
  }
}

class Ladder<R> {
  private readonly flights = new Map<number, Flight<R>>();
  private claimedBy: Flight<R> | undefined;
  private launches = 0;
  private failures = 0;
  private lastLaunchAt = 0;
  /** at most this many attempts pending or failed: retries, plus one hedge past a stall */
  private readonly budget: number;

  constructor(private readonly o: LadderOptions<R>) {
    this.budget = o.retries + (o.retries > 1 ? 1 : 0);
  }

  async run(): Promise<LadderResult<R>> {
    const { o } = this;
    const onOuterAbort = () => this.abortAll();
    o.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let result: R | undefined;
    try {
      this.launch();
      while (this.flights.size > 0) {
        const next = await this.nextEvent();
        if (next === 'hedge') {
          // an attempt may have claimed the ladder since the hedge was armed
          if (!o.signal?.aborted && this.claimedBy === undefined) this.launch();
          continue;
        }
        const { flight } = next;
        this.flights.delete(flight.id);
        if (flight.cancelled) continue;
        if (this.claimedBy === flight) this.claimedBy = undefined;
        result = next.result;
        const judged = o.judge(result);
        if (judged !== 'failed' || o.signal?.aborted) break;
        this.failures++;
        if (o.stopAfter && (await o.stopAfter(result))) break;
        if (this.failures >= o.retries) break;
        o.onRetry?.(result);
        if (this.flights.size > 0) continue;
        try {
          await o.clock.sleep(o.retryDelay, o.signal);
        } catch {
          break; // aborted: report what we have
        }
        this.launch();
      }
    } finally {
      o.signal?.removeEventListener('abort', onOuterAbort);
    }
    // a confirmed failure reports the attempts that failed, not a last hedge cut short by it
    return { result, attempts: this.failures >= o.retries ? this.failures : this.launches, failures: this.failures };
  }

  abortAll(): void {
    for (const f of this.flights.values()) f.controller.abort();
  }

  private launch(): void {
    this.launches++;
    this.lastLaunchAt = this.o.clock.now();
    const flight: Flight<R> = { id: this.launches, controller: new AbortController(), cancelled: false, done: undefined as never };
    const claim = (): boolean => {
      if ((this.claimedBy && this.claimedBy !== flight) || flight.controller.signal.aborted) {
        flight.cancelled = true;
        return false;
      }
      this.claimedBy = flight;
      // cancelled siblings leave the ladder at once: what they return is not the server's answer
      for (const f of [...this.flights.values()]) {
        if (f === flight) continue;
        f.cancelled = true;
        f.controller.abort();
        this.flights.delete(f.id);
      }
      return true;
    };
    flight.done = this.o.attempt({ signal: flight.controller.signal, claim }).then((result) => ({ flight, result }));
    this.flights.set(flight.id, flight);
  }

  /** The next finished attempt, or 'hedge' when one is due beside the pending ones. */
  private async nextEvent(): Promise<'hedge' | { flight: Flight<R>; result: R }> {
    const { o } = this;
    const canHedge = this.flights.size < o.retries && this.failures + this.flights.size < this.budget && this.claimedBy === undefined;
    // due retryDelay after the last launch, however many answers arrive meanwhile
    let timer: TimerHandle | undefined;
    const hedge = canHedge
      ? new Promise<'hedge'>((resolve) => {
          timer = o.clock.setTimeout(() => resolve('hedge'), Math.max(0, this.lastLaunchAt + o.retryDelay - o.clock.now()));
        })
      : NEVER;
    try {
      return await Promise.race([hedge, ...[...this.flights.values()].map((f) => f.done)]);
    } finally {
      o.clock.clearTimeout(timer);
    }
  }
}
