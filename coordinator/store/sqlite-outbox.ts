import type Database from 'better-sqlite3';
import type { Notification, NotificationLogEntry } from '../alerts/types.js';
import {
  DEFAULT_DELIVERY_QUERY_LIMIT,
  MAX_DELIVERY_QUERY_LIMIT,
  type AttemptInfo,
  type DeliveryLogEntry,
  type DeliveryOutcome,
  type DeliveryQuery,
  type OutboxEntry,
  type OutboxQuery,
  type OutboxStore,
  type OutboxSummary,
} from './outbox-store.js';
import { SUMMARY_COLUMNS, toDelivery, toEntry, toLogEntry, toSummary, type DeliveryRow, type LogRow, type OutboxRow } from './sqlite-outbox-rows.js';
import { deleteInChunks } from './sqlite-prune.js';
import { StatementCache } from './sqlite-statements.js';

type Stmt = Database.Statement;

/** Stored error texts are bounded: a provider may answer with a whole HTML page. */
export const MAX_STORED_ERROR_LENGTH = 2000;

/**
 * The `notification_log`, `outbox` and `deliveries` tables (schema step 2). Every state
 * change of an outbox row and its delivery log line are written in one transaction, so the
 * log never claims what the outbox does not show.
 */
export class SqliteOutboxTables implements OutboxStore {
  private readonly stmt: Record<
    | 'upsertLog'
    | 'getLog'
    | 'allLogs'
    | 'insertOutbox'
    | 'getOutbox'
    | 'pending'
    | 'nextPendingAt'
    | 'pendingCounts'
    | 'advance'
    | 'retry'
    | 'fail'
    | 'delivered'
    | 'insertDelivery'
    | 'pruneOutbox'
    | 'pruneDeliveries'
    | 'pruneLog',
    Stmt
  >;
  /** listOutbox and listDeliveries statements by filter combination */
  private readonly queries: StatementCache;
  private readonly enqueueTx: (notification: Notification, messages: readonly unknown[], logEntry: NotificationLogEntry, failed?: string) => OutboxEntry;
  private readonly advanceTx: (id: string, index: number, attempt: AttemptInfo) => void;
  private readonly retryTx: (id: string, nextAttemptAt: number, error: string, attempt: AttemptInfo) => void;
  private readonly failTx: (id: string, error: string, attempt: AttemptInfo) => void;

  constructor(db: Database.Database) {
    this.stmt = {
      upsertLog: db.prepare(
        `INSERT INTO notification_log (receiver, group_key, firing, resolved, sent_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (receiver, group_key) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, sent_at = excluded.sent_at`,
      ),
      getLog: db.prepare('SELECT * FROM notification_log WHERE receiver = ? AND group_key = ?'),
      allLogs: db.prepare('SELECT * FROM notification_log ORDER BY receiver, group_key'),
      insertOutbox: db.prepare(
        `INSERT OR IGNORE INTO outbox (id, receiver, group_key, status, notification, messages, message_count, next_message, attempts, next_attempt_at, state, created_at, updated_at)
         VALUES (@id, @receiver, @groupKey, @status, @notification, @messages, @count, 0, 0, @at, 'pending', @at, @at)`,
      ),
      getOutbox: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      // The prefix of the receiver's queue that is due: rows before the first one still
      // waiting out a retry. A not-yet-due row blocks those behind it (order is kept).
      pending: db.prepare(
        `SELECT * FROM outbox
          WHERE receiver = @receiver AND state = 'pending'
            AND seq < COALESCE((SELECT MIN(seq) FROM outbox WHERE receiver = @receiver AND state = 'pending' AND next_attempt_at > @now), 9223372036854775807)
          ORDER BY seq LIMIT @limit`,
      ),
      nextPendingAt: db.prepare(`SELECT next_attempt_at FROM outbox WHERE receiver = ? AND state = 'pending' ORDER BY seq LIMIT 1`).pluck(),
      pendingCounts: db.prepare(`SELECT receiver, COUNT(*) AS pending FROM outbox WHERE state = 'pending' GROUP BY receiver ORDER BY receiver`),
      advance: db.prepare(
        `UPDATE outbox SET next_message = ? + 1, attempts = 0, next_attempt_at = ?, last_error = NULL, updated_at = ?
          WHERE id = ? AND state = 'pending' AND next_message = ? AND ? < message_count`,
      ),
      retry: db.prepare(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = 'pending'`),
      fail: db.prepare(`UPDATE outbox SET attempts = attempts + 1, state = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND state = 'pending'`),
      delivered: db.prepare(`UPDATE outbox SET state = 'delivered', updated_at = ? WHERE id = ? AND state = 'pending' AND next_message >= message_count`),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (receiver, notification_id, message_index, outcome, status, error, at)
         SELECT receiver, id, ?, ?, ?, ?, ? FROM outbox WHERE id = ?`,
      ),
      pruneOutbox: db.prepare(`DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state <> 'pending' AND updated_at < ? LIMIT ?)`),
      pruneDeliveries: db.prepare('DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE at < ? LIMIT ?)'),
      pruneLog: db.prepare('DELETE FROM notification_log WHERE sent_at < ?'),
    };
    this.queries = new StatementCache(db);

    this.enqueueTx = db.transaction((notification: Notification, messages: readonly unknown[], log: NotificationLogEntry, failed?: string): OutboxEntry => {
      if (log.receiver !== notification.receiver || log.groupKey !== notification.groupKey) {
        throw new TypeError(`notification log entry (${log.receiver}, ${log.groupKey}) does not belong to notification ${notification.id} (${notification.receiver}, ${notification.groupKey})`);
      }
      const inserted = this.stmt.insertOutbox.run({
        id: notification.id,
        receiver: notification.receiver,
        groupKey: notification.groupKey,
        status: notification.status,
        notification: JSON.stringify(notification),
        messages: JSON.stringify(messages),
        count: messages.length,
        at: log.sentAt,
      }).changes === 1;
      if (inserted && failed !== undefined) this.failTx(notification.id, failed, { index: 0, at: log.sentAt });
      this.writeLog(log);
      return toEntry(this.stmt.getOutbox.get(notification.id) as OutboxRow);
    });

    this.advanceTx = db.transaction((id: string, index: number, a: AttemptInfo) => {
      // Guarded on the current progress: a late or repeated call can never move it backwards.
      if (this.stmt.advance.run(index, a.at, a.at, id, index, index).changes === 1) this.logAttempt(id, a, 'delivered', null);
    });
    this.retryTx = db.transaction((id: string, nextAttemptAt: number, error: string, a: AttemptInfo) => {
      const text = clipError(error);
      if (this.stmt.retry.run(nextAttemptAt, text, a.at, id).changes === 1) this.logAttempt(id, a, 'retry', text);
    });
    this.failTx = db.transaction((id: string, error: string, a: AttemptInfo) => {
      const text = clipError(error);
      if (this.stmt.fail.run(text, a.at, id).changes === 1) this.logAttempt(id, a, 'failed', text);
    });
  }

  private logAttempt(id: string, a: AttemptInfo, outcome: DeliveryOutcome, error: string | null): void {
    this.stmt.insertDelivery.run(a.index, outcome, a.status ?? null, error, a.at, id);
  }

  private writeLog(log: NotificationLogEntry): void {
    this.stmt.upsertLog.run(log.receiver, log.groupKey, JSON.stringify(log.firing), JSON.stringify(log.resolved), log.sentAt);
  }

  async enqueueNotification(notification: Notification, messages: readonly unknown[], logEntry: NotificationLogEntry, options: { failed?: string } = {}): Promise<OutboxEntry> {
    return this.enqueueTx(notification, messages, logEntry, options.failed);
  }

  async recordNotificationLog(logEntry: NotificationLogEntry): Promise<void> {
    this.writeLog(logEntry);
  }

  async getNotificationLog(receiver: string, groupKey: string): Promise<NotificationLogEntry | undefined> {
    const row = this.stmt.getLog.get(receiver, groupKey) as LogRow | undefined;
    return row && toLogEntry(row);
  }

  async listNotificationLog(): Promise<NotificationLogEntry[]> {
    return (this.stmt.allLogs.all() as LogRow[]).map(toLogEntry);
  }

  async pendingDeliveries(receiver: string, now: number, limit: number): Promise<OutboxEntry[]> {
    const n = Math.min(Math.max(1, Math.floor(limit)), MAX_DELIVERY_QUERY_LIMIT);
    return (this.stmt.pending.all({ receiver, now, limit: n }) as OutboxRow[]).map(toEntry);
  }

  async nextPendingAt(receiver: string): Promise<number | null> {
    return (this.stmt.nextPendingAt.get(receiver) as number | undefined) ?? null;
  }

  async pendingCounts(): Promise<{ receiver: string; pending: number }[]> {
    return this.stmt.pendingCounts.all() as { receiver: string; pending: number }[];
  }

  async markMessageDelivered(id: string, index: number, attempt: AttemptInfo): Promise<void> {
    this.advanceTx(id, index, attempt);
  }

  async scheduleRetry(id: string, nextAttemptAt: number, error: string, attempt: AttemptInfo): Promise<void> {
    this.retryTx(id, nextAttemptAt, error, attempt);
  }

  async markFailed(id: string, error: string, attempt: AttemptInfo): Promise<void> {
    this.failTx(id, error, attempt);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    this.stmt.delivered.run(at, id);
  }

  async getOutboxEntry(id: string): Promise<OutboxEntry | undefined> {
    const row = this.stmt.getOutbox.get(id) as OutboxRow | undefined;
    return row && toEntry(row);
  }

  async listOutbox(query: OutboxQuery): Promise<OutboxSummary[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.receiver !== undefined) (where.push('receiver = ?'), params.push(query.receiver));
    if (query.state !== undefined) (where.push('state = ?'), params.push(query.state));
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.queries.get(sql).all(...params, clampLimit(query.limit)) as OutboxRow[]).map(toSummary);
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryLogEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.receiver !== undefined) (where.push('receiver = ?'), params.push(query.receiver));
    if (query.notificationId !== undefined) (where.push('notification_id = ?'), params.push(query.notificationId));
    const sql = `SELECT * FROM (SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (this.queries.get(sql).all(...params, clampLimit(query.limit)) as DeliveryRow[]).map(toDelivery);
  }

  async prune(before: number): Promise<void> {
    deleteInChunks(this.stmt.pruneOutbox, before);
    deleteInChunks(this.stmt.pruneDeliveries, before);
    this.stmt.pruneLog.run(before);
  }
}

function clampLimit(limit: number | undefined): number {
  return Math.min(Math.max(1, Math.floor(limit ?? DEFAULT_DELIVERY_QUERY_LIMIT)), MAX_DELIVERY_QUERY_LIMIT);
}

function clipError(error: string): string {
  return error.length > MAX_STORED_ERROR_LENGTH ? `${error.slice(0, MAX_STORED_ERROR_LENGTH - 1)}…` : error;
}
