import type { Notification, NotificationLogEntry } from '../alerts/types.js';

/**
 * The notification path (docs/states-and-alerts.md): the notification log the dedup stage
 * reads, the durable outbox the delivery workers drain, and the append-only delivery log.
 * Every state change of an outbox row is written together with its delivery log line, so
 * the log never claims what the outbox does not show. A row no longer pending (delivered
 * or failed) takes no more changes.
 */
export interface OutboxStore {
  /**
   * Writes the notification's outbox row (its receiver's built `messages`, JSON) and the
   * notification log entry in one transaction: once this resolves, a SIGKILL loses neither.
   * Enqueuing the same notification id again changes nothing and returns the stored row.
   * `logEntry` must name the notification's receiver and group key; its `sentAt` is the
   * enqueue time (the row is due at once). With `failed` (messages that could not be built)
   * the row is stored as `failed` with that error and a `failed` delivery log line, in the
   * same transaction.
   */
  enqueueNotification(notification: Notification, messages: readonly unknown[], logEntry: NotificationLogEntry, options?: { failed?: string }): Promise<OutboxEntry>;
  /** Rewrites a log entry without a notification (the dedup stage's `updateLog`: alerts resolved unannounced). */
  recordNotificationLog(logEntry: NotificationLogEntry): Promise<void>;
  getNotificationLog(receiver: string, groupKey: string): Promise<NotificationLogEntry | undefined>;
  /** Every log entry (the delivery service keeps them in memory for the synchronous dedup stage). */
  listNotificationLog(): Promise<NotificationLogEntry[]>;

  /**
   * Pending rows of `receiver` that may be worked on at `now`, oldest first: the longest run
   * from the head of the receiver's queue whose `nextAttemptAt` has come. A row waiting out
   * a retry holds back the rows behind it, so one receiver's notifications never overtake
   * each other (a "resolved" must not arrive before its "firing").
   */
  pendingDeliveries(receiver: string, now: number, limit: number): Promise<OutboxEntry[]>;
  /** `nextAttemptAt` of the receiver's oldest pending row; null when nothing is pending. */
  nextPendingAt(receiver: string): Promise<number | null>;
  /** Receivers with pending rows, with counts (rows of receivers no longer configured stay visible). */
  pendingCounts(): Promise<{ receiver: string; pending: number }[]>;
  /**
   * Message `index` was accepted: progress moves to index + 1 (never backwards; messages
   * before it are never sent again), the retry count resets, a `delivered` line is logged.
   */
  markMessageDelivered(id: string, index: number, attempt: AttemptInfo): Promise<void>;
  /** A retryable failure of the current message: try again at `nextAttemptAt`; logs `retry`. */
  scheduleRetry(id: string, nextAttemptAt: number, error: string, attempt: AttemptInfo): Promise<void>;
  /** A permanent failure: the row is `failed` and never retried; logs `failed`. */
  markFailed(id: string, error: string, attempt: AttemptInfo): Promise<void>;
  /** Every message went out (before that, this changes nothing). */
  markDelivered(id: string, at: number): Promise<void>;
  getOutboxEntry(id: string): Promise<OutboxEntry | undefined>;
  /** Outbox rows without their messages, newest first (operators: what is stuck, what failed). */
  listOutbox(query: OutboxQuery): Promise<OutboxSummary[]>;
  /** The latest `limit` delivery log lines matching the query, oldest first. */
  listDeliveries(query: DeliveryQuery): Promise<DeliveryLogEntry[]>;

  /**
   * Retention: deletes finished (delivered or failed) outbox rows last changed before
   * `before` (epoch ms), delivery log lines written before it and notification log entries
   * last written before it. Pending outbox rows are never pruned.
   */
  prune(before: number): Promise<void>;
}

export const OUTBOX_STATES = ['pending', 'delivered', 'failed'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const DELIVERY_OUTCOMES = ['delivered', 'retry', 'failed'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface OutboxSummary {
  /** the notification id */
  id: string;
  receiver: string;
  groupKey: string;
  status: Notification['status'];
  messageCount: number;
  /** messages before this index are delivered */
  nextMessage: number;
  /** failed attempts of the current message */
  attempts: number;
  nextAttemptAt: number;
  state: OutboxState;
  /** scrubbed of secrets by the caller */
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OutboxEntry extends OutboxSummary {
  notification: Notification;
  messages: unknown[];
}

/** One attempt at one message, for the delivery log. */
export interface AttemptInfo {
  index: number;
  at: number;
  status?: number;
}

export interface DeliveryLogEntry {
  id: number;
  receiver: string;
  notificationId: string;
  messageIndex: number;
  outcome: DeliveryOutcome;
  status: number | null;
  error: string | null;
  at: number;
}

export interface DeliveryQuery {
  receiver?: string;
  notificationId?: string;
  /** default 100, at most MAX_DELIVERY_QUERY_LIMIT */
  limit?: number;
}

export interface OutboxQuery {
  receiver?: string;
  state?: OutboxState;
  /** default 100, at most MAX_DELIVERY_QUERY_LIMIT */
  limit?: number;
}

export const DEFAULT_DELIVERY_QUERY_LIMIT = 100;
export const MAX_DELIVERY_QUERY_LIMIT = 10_000;
