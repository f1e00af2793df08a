import type Database from 'better-sqlite3';
import type { Matcher, Notification, NotificationLogEntry, Silence } from '../alerts/types.js';
import {
  DEFAULT_DELIVERY_QUERY_LIMIT,
  MAX_DELIVERY_QUERY_LIMIT,
  type AttemptInfo,
  type DeliveryLogEntry,
  type DeliveryOutcome,
  type DeliveryQuery,
  type OutboxEntry,
  type OutboxQuery,
  type OutboxState,
  type OutboxSummary,
  type SilenceQuery,
} from './delivery-types.js';

type Db = Database.Database;
type Stmt = Database.Statement;

const PRUNE_CHUNK = 5000;
const PRUNE_MAX_CHUNKS = 10_000;
/** Stored error texts are bounded: a provider may answer with a whole HTML page. */
export const MAX_STORED_ERROR_LENGTH = 2000;

interface OutboxRow {
  id: string;
  receiver: string;
  group_key: string;
  status: string;
  notification?: string;
  messages?: string;
  message_count: number;
  next_message: number;
  attempts: number;
  next_attempt_at: number;
  state: string;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

interface LogRow {
  receiver: string;
  group_key: string;
  firing: string;
  resolved: string;
  sent_at: number;
}

interface DeliveryRow {
  id: number;
  receiver: string;
  notification_id: string;
  message_index: number;
  outcome: string;
  status: number | null;
  error: string | null;
  at: number;
}

interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
  updated_at: number;
}

const SUMMARY_COLUMNS = 'id, receiver, group_key, status, message_count, next_message, attempts, next_attempt_at, state, last_error, created_at, updated_at';

/**
 * The notification path's tables (schema step 2), synchronous; SqliteStore wraps them in
 * its async interface. Every state change of an outbox row and its delivery log line are
 * written in one transaction, so the log never claims what the outbox does not show.
 */
export class SqliteDeliveryTables {
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
    | 'insertSilence'
    | 'getSilence'
    | 'activeSilences'
    | 'allSilences'
    | 'expireSilence'
    | 'pruneOutbox'
    | 'pruneDeliveries'
    | 'pruneLog'
    | 'pruneSilences',
    Stmt
  >;
  private readonly queryCache = new Map<string, Stmt>();
  readonly enqueue: (notification: Notification, messages: readonly unknown[], logEntry: NotificationLogEntry, failed?: string) => OutboxEntry;
  readonly markMessageDelivered: (id: string, index: number, attempt: AttemptInfo) => void;
  readonly scheduleRetry: (id: string, nextAttemptAt: number, error: string, attempt: AttemptInfo) => void;
  readonly markFailed: (id: string, error: string, attempt: AttemptInfo) => void;
  readonly expireSilence: (id: string, at: number) => Silence | undefined;

  constructor(private readonly db: Db) {
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
      insertSilence: db.prepare(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
         VALUES (@id, @matchers, @startsAt, @endsAt, @createdBy, @comment, @createdAt, @updatedAt)`,
      ),
      getSilence: db.prepare('SELECT * FROM silences WHERE id = ?'),
      activeSilences: db.prepare('SELECT * FROM silences WHERE ends_at > ? ORDER BY starts_at, created_at, id'),
      allSilences: db.prepare('SELECT * FROM silences ORDER BY starts_at, created_at, id'),
      expireSilence: db.prepare('UPDATE silences SET ends_at = @at, starts_at = MIN(starts_at, @at), updated_at = @at WHERE id = @id AND ends_at > @at'),
      pruneOutbox: db.prepare(`DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state <> 'pending' AND updated_at < ? LIMIT ?)`),
      pruneDeliveries: db.prepare('DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE at < ? LIMIT ?)'),
      pruneLog: db.prepare('DELETE FROM notification_log WHERE sent_at < ?'),
      pruneSilences: db.prepare('DELETE FROM silences WHERE ends_at < ?'),
    };

    this.enqueue = db.transaction((notification: Notification, messages: readonly unknown[], log: NotificationLogEntry, failed?: string): OutboxEntry => {
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
      if (inserted && failed !== undefined) this.markFailed(notification.id, failed, { index: 0, at: log.sentAt });
      this.recordNotificationLog(log);
      return toEntry(this.stmt.getOutbox.get(notification.id) as OutboxRow);
    });

    this.markMessageDelivered = db.transaction((id: string, index: number, a: AttemptInfo) => {
      // Guarded on the current progress: a late or repeated call can never move it backwards.
      if (this.stmt.advance.run(index, a.at, a.at, id, index, index).changes === 1) this.log(id, a, 'delivered', null);
    });
    this.scheduleRetry = db.transaction((id: string, nextAttemptAt: number, error: string, a: AttemptInfo) => {
      const text = clipError(error);
      if (this.stmt.retry.run(nextAttemptAt, text, a.at, id).changes === 1) this.log(id, a, 'retry', text);
    });
    this.markFailed = db.transaction((id: string, error: string, a: AttemptInfo) => {
      const text = clipError(error);
      if (this.stmt.fail.run(text, a.at, id).changes === 1) this.log(id, a, 'failed', text);
    });
    this.expireSilence = db.transaction((id: string, at: number): Silence | undefined => {
      this.stmt.expireSilence.run({ id, at });
      const row = this.stmt.getSilence.get(id) as SilenceRow | undefined;
      return row && toSilence(row);
    });
  }

  private log(id: string, a: AttemptInfo, outcome: DeliveryOutcome, error: string | null): void {
    this.stmt.insertDelivery.run(a.index, outcome, a.status ?? null, error, a.at, id);
  }

  recordNotificationLog(log: NotificationLogEntry): void {
    this.stmt.upsertLog.run(log.receiver, log.groupKey, JSON.stringify(log.firing), JSON.stringify(log.resolved), log.sentAt);
  }

  getNotificationLog(receiver: string, groupKey: string): NotificationLogEntry | undefined {
    const row = this.stmt.getLog.get(receiver, groupKey) as LogRow | undefined;
    return row && toLogEntry(row);
  }

  listNotificationLog(): NotificationLogEntry[] {
    return (this.stmt.allLogs.all() as LogRow[]).map(toLogEntry);
  }

  pendingDeliveries(receiver: string, now: number, limit: number): OutboxEntry[] {
    const n = Math.min(Math.max(1, Math.floor(limit)), MAX_DELIVERY_QUERY_LIMIT);
    return (this.stmt.pending.all({ receiver, now, limit: n }) as OutboxRow[]).map(toEntry);
  }

  nextPendingAt(receiver: string): number | null {
    return (this.stmt.nextPendingAt.get(receiver) as number | undefined) ?? null;
  }

  pendingCounts(): { receiver: string; pending: number }[] {
    return this.stmt.pendingCounts.all() as { receiver: string; pending: number }[];
  }

  markDelivered(id: string, at: number): void {
    this.stmt.delivered.run(at, id);
  }

  getOutboxEntry(id: string): OutboxEntry | undefined {
    const row = this.stmt.getOutbox.get(id) as OutboxRow | undefined;
    return row && toEntry(row);
  }

  listOutbox(query: OutboxQuery): OutboxSummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.receiver !== undefined) (where.push('receiver = ?'), params.push(query.receiver));
    if (query.state !== undefined) (where.push('state = ?'), params.push(query.state));
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.prepared(sql).all(...params, clampLimit(query.limit)) as OutboxRow[]).map(toSummary);
  }

  listDeliveries(query: DeliveryQuery): DeliveryLogEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.receiver !== undefined) (where.push('receiver = ?'), params.push(query.receiver));
    if (query.notificationId !== undefined) (where.push('notification_id = ?'), params.push(query.notificationId));
    const sql = `SELECT * FROM (SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (this.prepared(sql).all(...params, clampLimit(query.limit)) as DeliveryRow[]).map(toDelivery);
  }

  createSilence(s: Silence): void {
    this.stmt.insertSilence.run({ ...s, matchers: JSON.stringify(s.matchers) });
  }

  getSilence(id: string): Silence | undefined {
    const row = this.stmt.getSilence.get(id) as SilenceRow | undefined;
    return row && toSilence(row);
  }

  listSilences(query: SilenceQuery): Silence[] {
    const rows = (query.includeExpired ? this.stmt.allSilences.all() : this.stmt.activeSilences.all(query.now)) as SilenceRow[];
    return rows.map(toSilence);
  }

  /** Retention for the notification path; pending outbox rows are never pruned. */
  prune(before: number): void {
    for (const stmt of [this.stmt.pruneOutbox, this.stmt.pruneDeliveries]) {
      for (let i = 0; i < PRUNE_MAX_CHUNKS; i++) if (stmt.run(before, PRUNE_CHUNK).changes < PRUNE_CHUNK) break;
    }
    this.stmt.pruneLog.run(before);
    this.stmt.pruneSilences.run(before);
  }

  private prepared(sql: string): Stmt {
    let stmt = this.queryCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.queryCache.set(sql, stmt);
    }
    return stmt;
  }
}

function clampLimit(limit: number | undefined): number {
  return Math.min(Math.max(1, Math.floor(limit ?? DEFAULT_DELIVERY_QUERY_LIMIT)), MAX_DELIVERY_QUERY_LIMIT);
}

function clipError(error: string): string {
  return error.length > MAX_STORED_ERROR_LENGTH ? `${error.slice(0, MAX_STORED_ERROR_LENGTH - 1)}…` : error;
}

function toLogEntry(r: LogRow): NotificationLogEntry {
  return { receiver: r.receiver, groupKey: r.group_key, firing: JSON.parse(r.firing) as string[], resolved: JSON.parse(r.resolved) as string[], sentAt: r.sent_at };
}

function toSummary(r: OutboxRow): OutboxSummary {
  return {
    id: r.id,
    receiver: r.receiver,
    groupKey: r.group_key,
    status: r.status as Notification['status'],
    messageCount: r.message_count,
    nextMessage: r.next_message,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    state: r.state as OutboxState,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toEntry(r: OutboxRow): OutboxEntry {
  return { ...toSummary(r), notification: JSON.parse(r.notification!) as Notification, messages: JSON.parse(r.messages!) as unknown[] };
}

function toDelivery(r: DeliveryRow): DeliveryLogEntry {
  return {
    id: r.id,
    receiver: r.receiver,
    notificationId: r.notification_id,
    messageIndex: r.message_index,
    outcome: r.outcome as DeliveryOutcome,
    status: r.status,
    error: r.error,
    at: r.at,
  };
}

function toSilence(r: SilenceRow): Silence {
  return {
    id: r.id,
    matchers: JSON.parse(r.matchers) as Matcher[],
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
