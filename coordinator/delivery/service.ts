import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Notification, NotificationLogEntry } from '../alerts/types.js';
import type { Notifier } from '../notify/types.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type { BackoffSettings } from './retry.js';
import { scrubError } from './retry.js';
import { DeliveryWorker, type OutcomeHook, type WorkerStatus } from './worker.js';

/** How long stop() waits for sends in flight before aborting them. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface DeliveryServiceOptions {
  store: OutboxStore;
  /** one per configured receiver; names are unique. The service closes them in stop(). */
  notifiers: readonly Notifier[];
  clock: Clock;
  logger: Logger;
  /** metrics: called once per message attempt with `delivered`, `retry` or `failed` */
  onOutcome?: OutcomeHook;
  /** jitter source (tests pass a constant) */
  random?: () => number;
  backoff?: BackoffSettings;
  stopGraceMs?: number;
}

export interface ReceiverStatus extends WorkerStatus {
  type: Notifier['type'];
  /** where it sends, without secrets */
  target: string;
}

/**
 * Owns one DeliveryWorker per receiver and the in-memory copy of the notification log.
 * The alert dispatcher hands it notifications through `enqueue` (the `emit` callback) and
 * reads the log through `getLogEntry`, synchronously: the copy is loaded in start() and
 * updated by every enqueue before it touches the database.
 */
export class DeliveryService {
  private readonly store: OutboxStore;
  private readonly logger: Logger;
  private readonly onOutcome: OutcomeHook;
  private readonly notifiers = new Map<string, Notifier>();
  private readonly workers = new Map<string, DeliveryWorker>();
  /** receiver → group key → last log entry */
  private readonly log = new Map<string, Map<string, NotificationLogEntry>>();
  private readonly stopGraceMs: number;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(options: DeliveryServiceOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.onOutcome = options.onOutcome ?? (() => undefined);
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    for (const notifier of options.notifiers) {
      if (this.notifiers.has(notifier.name)) throw new TypeError(`DeliveryService: two notifiers named ${JSON.stringify(notifier.name)}; receiver names must be unique`);
      this.notifiers.set(notifier.name, notifier);
      this.workers.set(
        notifier.name,
        new DeliveryWorker({
          notifier,
          store: options.store,
          clock: options.clock,
          logger: options.logger,
          onOutcome: this.onOutcome,
          ...(options.random ? { random: options.random } : {}),
          ...(options.backoff ? { backoff: options.backoff } : {}),
        }),
      );
    }
  }

  /** Loads the notification log and starts every worker (each resumes what a previous run left pending). */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    for (const entry of await this.store.listNotificationLog()) {
      // An entry written by an enqueue before start() is newer than the stored one it replaces.
      if (!this.receiverLog(entry.receiver).has(entry.groupKey)) this.receiverLog(entry.receiver).set(entry.groupKey, entry);
    }
    for (const { receiver, pending } of await this.store.pendingCounts()) {
      if (this.workers.has(receiver)) this.logger.info({ receiver, pending }, 'resuming notification delivery left pending by the last run');
      else this.logger.warn({ receiver, pending }, 'pending notifications for a receiver that is no longer configured; they stay in the outbox');
    }
    this.state = 'started';
    for (const worker of this.workers.values()) worker.start();
  }

  /**
   * Builds the receiver's messages, stores them in the outbox together with the log entry
   * (one transaction: when this resolves, a crash loses nothing), and wakes the receiver's
   * worker. The log copy is updated at once, so `getLogEntry` sees it before this resolves;
   * it is put back if the write fails. A notification whose messages cannot be built is
   * recorded as failed (the log entry still stands, so the same group is not rebuilt on
   * every flush).
   */
  async enqueue(notification: Notification, logEntry: NotificationLogEntry): Promise<void> {
    const notifier = this.notifiers.get(notification.receiver);
    if (!notifier) throw new TypeError(`DeliveryService: no receiver named ${JSON.stringify(notification.receiver)}`);
    if (this.state === 'stopped') throw new Error('DeliveryService: stopped');
    let messages: unknown[];
    let buildError: string | undefined;
    try {
      messages = notifier.build(notification);
    } catch (err) {
      messages = [];
      buildError = scrubError(`building the ${notifier.type} message failed: ${(err as Error)?.message ?? String(err)}`);
    }
    const groups = this.receiverLog(logEntry.receiver);
    const previous = groups.get(logEntry.groupKey);
    groups.set(logEntry.groupKey, logEntry);
    try {
      await this.store.enqueueNotification(notification, messages, logEntry, buildError === undefined ? {} : { failed: buildError });
      if (buildError !== undefined) {
        this.onOutcome(notifier.name, 'failed');
        this.logger.error({ receiver: notifier.name, notificationId: notification.id, groupKey: notification.groupKey, error: buildError }, 'notification not deliverable');
        return;
      }
    } catch (err) {
      if (groups.get(logEntry.groupKey) === logEntry) {
        if (previous) groups.set(logEntry.groupKey, previous);
        else groups.delete(logEntry.groupKey);
      }
      throw err;
    }
    this.workers.get(notifier.name)!.wake();
  }

  /**
   * `enqueue` for a synchronous caller (the dispatcher's `emit`): failures are logged, and
   * the log copy is put back so the group's next flush tries again. With SqliteStore the
   * transaction has committed when this returns (better-sqlite3 writes synchronously).
   */
  emit(notification: Notification, logEntry: NotificationLogEntry): void {
    this.enqueue(notification, logEntry).catch((err: unknown) => {
      this.logger.error({ receiver: notification.receiver, groupKey: notification.groupKey, notificationId: notification.id, err: scrubError((err as Error)?.message ?? String(err)) }, 'could not queue a notification');
    });
  }

  /** The dispatcher's `updateLog`: a log entry changed without a notification (alerts resolved unannounced). */
  updateLog(logEntry: NotificationLogEntry): void {
    const groups = this.receiverLog(logEntry.receiver);
    const previous = groups.get(logEntry.groupKey);
    groups.set(logEntry.groupKey, logEntry);
    this.store.recordNotificationLog(logEntry).catch((err: unknown) => {
      if (groups.get(logEntry.groupKey) === logEntry) {
        if (previous) groups.set(logEntry.groupKey, previous);
        else groups.delete(logEntry.groupKey);
      }
      this.logger.error({ receiver: logEntry.receiver, groupKey: logEntry.groupKey, err: scrubError((err as Error)?.message ?? String(err)) }, 'could not record the notification log');
    });
  }

  /** The last notification sent to `receiver` for `groupKey` (the dedup stage's question). Synchronous. */
  getLogEntry(receiver: string, groupKey: string): NotificationLogEntry | undefined {
    return this.log.get(receiver)?.get(groupKey);
  }

  status(): ReceiverStatus[] {
    return [...this.workers.values()].map((w) => {
      const n = this.notifiers.get(w.receiver)!;
      return { ...w.status(), type: n.type, target: n.describe() };
    });
  }

  /** Stops every worker (sends in flight get `stopGraceMs`), then closes the notifiers. Idempotent. */
  stop(): Promise<void> {
    this.state = 'stopped';
    return (this.stopping ??= (async () => {
      await Promise.all([...this.workers.values()].map((w) => w.stop(this.stopGraceMs)));
      for (const n of this.notifiers.values()) {
        try {
          await n.close?.();
        } catch (err) {
          this.logger.warn({ receiver: n.name, err: scrubError((err as Error)?.message ?? String(err)) }, 'closing a notifier failed');
        }
      }
    })());
  }

  private receiverLog(receiver: string): Map<string, NotificationLogEntry> {
    let groups = this.log.get(receiver);
    if (!groups) this.log.set(receiver, (groups = new Map()));
    return groups;
  }
}
