import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { DeliveryResult, Notifier } from '../notify/types.js';
import type { DeliveryOutcome, OutboxEntry, OutboxStore } from '../store/outbox-store.js';
import { DEFAULT_BACKOFF, retryDelay, scrubError, type BackoffSettings } from './retry.js';

/** Rows read per query; a worker reads again after working through them. */
const BATCH = 20;
/** After a store error (disk full, database locked), the loop waits this long and reads again. */
const STORE_ERROR_RETRY_MS = 5000;
/** A notifier enforces its own timeout; this guard aborts a deliver() that ignores it. */
const DELIVER_GUARD_MS = 5000;

export type OutcomeHook = (receiver: string, outcome: DeliveryOutcome) => void;

export interface DeliveryWorkerOptions {
  notifier: Notifier;
  store: OutboxStore;
  clock: Clock;
  logger: Logger;
  /** metrics: `llm_health_notifications_total{receiver,outcome}` */
  onOutcome?: OutcomeHook;
  /** jitter source; tests pass a constant */
  random?: () => number;
  backoff?: BackoffSettings;
}

/**
 * `sending`: working through the queue (a request or a store call in flight);
 * `pacing`: waiting out the receiver's minimum interval; `waiting`: the head of the queue
 * waits for its next attempt; `idle`: nothing pending; `stopped`.
 */
export type WorkerState = 'sending' | 'pacing' | 'waiting' | 'idle' | 'stopped';

export interface WorkerStatus {
  receiver: string;
  state: WorkerState;
  /** while `waiting`: when the next attempt is due */
  nextAttemptAt: number | null;
  /** the last failure since the last success (scrubbed) */
  lastError: string | null;
}

interface Waiter {
  wakeable: boolean;
  done: () => void;
}

type RowResult = 'done' | 'blocked' | 'stopped';

/**
 * One receiver's queue. A worker sends its receiver's outbox rows oldest first, one
 * message at a time, `notifier.minIntervalMs` apart, and records each accepted message
 * before sending the next, so a kill between two messages never sends one twice. A
 * retryable failure parks the head of the queue until its next attempt (Retry-After, else
 * backoff) and the rows behind it wait too, keeping order; other receivers have workers
 * of their own and are never held up. Every wait is on the injected clock.
 */
export class DeliveryWorker {
  readonly receiver: string;
  private readonly notifier: Notifier;
  private readonly store: OutboxStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onOutcome: OutcomeHook;
  private readonly random: () => number;
  private readonly backoff: BackoffSettings;
  private readonly abort = new AbortController();
  private readonly waiters = new Set<Waiter>();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeRequested = false;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private current: { state: WorkerState; nextAttemptAt: number | null } = { state: 'idle', nextAttemptAt: null };
  private lastError: string | null = null;

  constructor(options: DeliveryWorkerOptions) {
    this.notifier = options.notifier;
    this.receiver = options.notifier.name;
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.onOutcome = options.onOutcome ?? (() => undefined);
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Starts the loop, which first reads what is pending (rows left by a previous run included). Idempotent. */
  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /** Something was enqueued: read the queue again (a head waiting for its retry keeps waiting). */
  wake(): void {
    this.wakeRequested = true;
    for (const w of [...this.waiters]) if (w.wakeable) w.done();
  }

  status(): WorkerStatus {
    return { receiver: this.receiver, ...this.current, lastError: this.lastError };
  }

  /**
   * Stops taking new work and waits up to `graceMs` (on the clock) for a send in flight;
   * past that it is aborted (the message stays pending and goes out after the restart).
   * Idempotent.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const w of [...this.waiters]) w.done();
    if (!this.loop) {
      this.current = { state: 'stopped', nextAttemptAt: null };
      return;
    }
    let handle: TimerHandle | undefined;
    const grace = new Promise<void>((resolve) => (handle = this.clock.setTimeout(resolve, graceMs)));
    await Promise.race([this.loop, grace]);
    this.clock.clearTimeout(handle);
    this.abort.abort(new Error('delivery worker stopping'));
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.wakeRequested = false;
      let until: number | null;
      try {
        until = await this.drain();
      } catch (err) {
        this.logger.error({ receiver: this.receiver, err: scrubError((err as Error)?.message ?? String(err)) }, 'delivery worker: store failed; reading the outbox again shortly');
        until = this.clock.now() + STORE_ERROR_RETRY_MS;
      }
      if (this.stopping) break;
      if (this.wakeRequested) continue;
      this.current = { state: until === null ? 'idle' : 'waiting', nextAttemptAt: until };
      await this.wait(until, true);
    }
    this.current = { state: 'stopped', nextAttemptAt: null };
  }

  /** Works through every due row; returns when the head of the queue is next due, or null when the queue is empty. */
  private async drain(): Promise<number | null> {
    for (;;) {
      this.current = { state: 'sending', nextAttemptAt: null };
      const rows = await this.store.pendingDeliveries(this.receiver, this.clock.now(), BATCH);
      if (rows.length === 0) return this.store.nextPendingAt(this.receiver);
      for (const row of rows) {
        if (this.stopping) return null;
        const result = await this.deliverRow(row);
        if (result === 'stopped') return null;
        if (result === 'blocked') break;
      }
    }
  }

  private async deliverRow(row: OutboxEntry): Promise<RowResult> {
    let failures = row.attempts;
    for (let index = row.nextMessage; index < row.messages.length; index++) {
      await this.pace();
      if (this.stopping) return 'stopped';
      this.current = { state: 'sending', nextAttemptAt: null };
      const result = await this.attempt(row.messages[index]);
      const at = this.clock.now();
      this.lastSendAt = at;
      const attempt = { index, at, ...(result.status !== undefined ? { status: result.status } : {}) };
      if (result.ok) {
        await this.store.markMessageDelivered(row.id, index, attempt);
        failures = 0;
        this.lastError = null;
        this.onOutcome(this.receiver, 'delivered');
        this.logger.debug({ receiver: this.receiver, notificationId: row.id, message: index, messages: row.messages.length, status: result.status }, 'notification message delivered');
        continue;
      }
      // An aborted send during shutdown is not the receiver's failure: leave the row as it
      // is, to be sent after the restart.
      if (this.stopping) return 'stopped';
      const error = scrubError(result.error);
      this.lastError = error;
      const log = { receiver: this.receiver, target: this.notifier.describe(), notificationId: row.id, groupKey: row.groupKey, message: index, status: result.status, error };
      if (result.retryable) {
        failures++;
        const delay = retryDelay(result.retryAfterMs, failures, this.notifier.minIntervalMs, this.random, this.backoff);
        await this.store.scheduleRetry(row.id, at + delay, error, attempt);
        this.onOutcome(this.receiver, 'retry');
        this.logger.warn({ ...log, attempt: failures, retryInMs: delay, retryAfterMs: result.retryAfterMs }, 'notification delivery failed; will retry');
        return 'blocked';
      }
      await this.store.markFailed(row.id, error, attempt);
      this.onOutcome(this.receiver, 'failed');
      this.logger.error(log, 'notification delivery failed permanently; not retried');
      return 'done';
    }
    await this.store.markDelivered(row.id, this.clock.now());
    return 'done';
  }

  /** Sends one message; a notifier that throws is treated as a retryable failure. */
  private async attempt(message: unknown): Promise<DeliveryResult> {
    // One controller per attempt, aborted by stop() or by the guard; listeners are removed
    // afterwards so thousands of attempts leave nothing on the long-lived stop signal.
    const controller = new AbortController();
    const onStop = () => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    // A real timer, not the injected Clock: it bounds socket I/O, which only real time moves
    // (as the notifiers' own deadlines do).
    const guardMs = this.notifier.timeoutMs + DELIVER_GUARD_MS;
    const guard = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('delivery timed out'));
    }, guardMs);
    guard.unref();
    try {
      return await this.notifier.deliver(message, controller.signal);
    } catch (err) {
      return { ok: false, retryable: true, error: `deliver failed: ${timedOut ? `no answer within ${guardMs}ms` : ((err as Error)?.message ?? String(err))}` };
    } finally {
      clearTimeout(guard);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /** Slack allows about one message per second per webhook: keep `minIntervalMs` between sends. */
  private async pace(): Promise<void> {
    const due = this.lastSendAt + this.notifier.minIntervalMs;
    if (this.clock.now() >= due) return;
    this.current = { state: 'pacing', nextAttemptAt: due };
    await this.wait(due, false);
  }

  /** Waits until `until` (null: until woken); a stop always ends the wait, a wake only when `wakeable`. */
  private wait(until: number | null, wakeable: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let handle: TimerHandle | undefined;
      const waiter: Waiter = {
        wakeable,
        done: () => {
          if (!this.waiters.delete(waiter)) return;
          this.clock.clearTimeout(handle);
          resolve();
        },
      };
      this.waiters.add(waiter);
      if (until !== null) handle = this.clock.setTimeout(waiter.done, Math.max(0, until - this.clock.now()));
    });
  }
}
