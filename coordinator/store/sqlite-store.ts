import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Notification, NotificationLogEntry, Silence } from '../alerts/types.js';
import type { Event } from '../../shared/protocol/messages.js';
import { SqliteDeliveryTables } from './sqlite-delivery.js';
import { migrate } from './sqlite-schema.js';
import {
  DEFAULT_EVENT_QUERY_LIMIT,
  MAX_EVENT_QUERY_LIMIT,
  type AckState,
  type AgentHello,
  type AgentRecord,
  type AppendResult,
  type AttemptInfo,
  type DeliveryLogEntry,
  type DeliveryQuery,
  type EventQuery,
  type OutboxEntry,
  type OutboxQuery,
  type OutboxSummary,
  type SilenceQuery,
  type Store,
} from './types.js';

type Db = Database.Database;
type Stmt = Database.Statement;

/** Rows examined per step when advancing a watermark over events that arrived out of order. */
const ADVANCE_PAGE = 1000;
/** Bound on one advance; whatever is left is picked up by the next batch. */
const ADVANCE_MAX_PAGES = 1000;
/** Deleting in chunks keeps each write transaction short, so agents' batches are not held up. */
const PRUNE_CHUNK = 5000;
const PRUNE_MAX_CHUNKS = 10_000;

interface AgentRow {
  id: string;
  boot_id: string;
  labels: string;
  agent_version: string;
  first_seen: number;
  last_seen: number;
  connected: number;
}

/**
 * SQLite backend (better-sqlite3 12: Node 20). WAL so the HTTP API reads while a batch is
 * written; `synchronous=NORMAL` because in WAL mode that is still durable against process
 * crashes and only a power loss can drop the last commits — which the agents' spools replay.
 */
export class SqliteStore implements Store {
  private readonly db: Db;
  private readonly stmt: {
    upsertAgent: Stmt;
    setConnected: Stmt;
    disconnectAll: Stmt;
    touchAgent: Stmt;
    listAgents: Stmt;
    insertEvent: Stmt;
    getAck: Stmt;
    upsertAck: Stmt;
    nextSeqs: Stmt;
    pruneEvents: Stmt;
    pruneAcks: Stmt;
  };
  /** listEvents statements by filter combination, prepared on first use. */
  private readonly queryCache = new Map<string, Stmt>();
  private readonly appendTx: (agentId: string, events: readonly Event[], receivedAt: number) => AppendResult;
  private readonly delivery: SqliteDeliveryTables;
  private closed = false;

  /** `file` may be ':memory:' (tests); otherwise its directory is created. */
  static open(file: string): SqliteStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    return new SqliteStore(new Database(file));
  }

  private constructor(db: Db) {
    this.db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A second process (a backup, sqlite3 shell) may hold a lock briefly; wait instead of failing.
    db.pragma('busy_timeout = 5000');
    migrate(db);
    this.stmt = {
      upsertAgent: db.prepare(
        `INSERT INTO agents (id, boot_id, labels, agent_version, first_seen, last_seen, connected)
         VALUES (@id, @bootId, @labels, @agentVersion, @at, @at, 1)
         ON CONFLICT (id) DO UPDATE SET boot_id = excluded.boot_id, labels = excluded.labels,
           agent_version = excluded.agent_version, last_seen = excluded.last_seen, connected = 1`,
      ),
      setConnected: db.prepare('UPDATE agents SET connected = ?, last_seen = MAX(last_seen, ?) WHERE id = ?'),
      disconnectAll: db.prepare('UPDATE agents SET connected = 0 WHERE connected <> 0'),
      touchAgent: db.prepare('UPDATE agents SET last_seen = MAX(last_seen, ?) WHERE id = ?'),
      listAgents: db.prepare('SELECT * FROM agents ORDER BY id'),
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO events (agent_id, boot_id, seq, at, type, service, payload, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getAck: db.prepare('SELECT seq FROM acks WHERE agent_id = ? AND boot_id = ?').pluck(),
      upsertAck: db.prepare(
        `INSERT INTO acks (agent_id, boot_id, seq, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (agent_id, boot_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
      ),
      nextSeqs: db.prepare('SELECT seq FROM events WHERE agent_id = ? AND boot_id = ? AND seq > ? ORDER BY seq LIMIT ?').pluck(),
      pruneEvents: db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? LIMIT ?)'),
      pruneAcks: db.prepare(
        `DELETE FROM acks WHERE updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM agents WHERE agents.id = acks.agent_id AND agents.boot_id = acks.boot_id)`,
      ),
    };
    this.appendTx = db.transaction((agentId: string, events: readonly Event[], receivedAt: number) => this.appendInTx(agentId, events, receivedAt));
    this.delivery = new SqliteDeliveryTables(db);
  }

  async recordHello(agent: AgentHello, at: number): Promise<void> {
    this.stmt.upsertAgent.run({ id: agent.id, bootId: agent.bootId, labels: JSON.stringify(agent.labels), agentVersion: agent.agentVersion, at });
  }

  async setConnected(agentId: string, connected: boolean, at: number): Promise<void> {
    this.stmt.setConnected.run(connected ? 1 : 0, at, agentId);
  }

  async markAllDisconnected(): Promise<void> {
    this.stmt.disconnectAll.run();
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (this.stmt.listAgents.all() as AgentRow[]).map((r) => ({
      id: r.id,
      bootId: r.boot_id,
      labels: JSON.parse(r.labels) as Record<string, string>,
      agentVersion: r.agent_version,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      connected: r.connected !== 0,
    }));
  }

  async appendEvents(agentId: string, events: readonly Event[], receivedAt: number): Promise<AppendResult> {
    if (events.length === 0) return { inserted: [], acks: [] };
    return this.appendTx(agentId, events, receivedAt);
  }

  private appendInTx(agentId: string, events: readonly Event[], receivedAt: number): AppendResult {
    const watermarks = new Map<string, number>();
    const watermark = (bootId: string): number => {
      let w = watermarks.get(bootId);
      if (w === undefined) {
        w = (this.stmt.getAck.get(agentId, bootId) as number | undefined) ?? 0;
        watermarks.set(bootId, w);
      }
      return w;
    };
    const inserted: Event[] = [];
    const original = new Map<string, number>();
    for (const e of events) {
      if (e.agentId !== agentId) throw new Error(`event of agent ${JSON.stringify(e.agentId)} in a batch for ${JSON.stringify(agentId)}`);
      // At or below the watermark: processed before, even if retention has since pruned its row.
      if (e.seq <= watermark(e.bootId)) continue;
      const at = Date.parse(e.at);
      const r = this.stmt.insertEvent.run(agentId, e.bootId, e.seq, Number.isNaN(at) ? receivedAt : at, e.type, e.service ?? null, JSON.stringify(e), receivedAt);
      if (r.changes === 1) inserted.push(e);
      // A gap event says the agent's spool dropped these (its oldest unacknowledged) events:
      // they will never arrive, so the watermark moves past them instead of stalling forever.
      if (e.type === 'gap' && r.changes === 1) {
        for (const range of gapRanges(e)) {
          const w = watermark(range.bootId);
          if (range.toSeq > w) watermarks.set(range.bootId, range.toSeq);
          if (!original.has(range.bootId)) original.set(range.bootId, w);
        }
      }
    }
    const acks: AckState[] = [];
    for (const [bootId, from] of watermarks) {
      const before = original.get(bootId) ?? from;
      const after = this.advance(agentId, bootId, from);
      if (after !== before) this.stmt.upsertAck.run(agentId, bootId, after, receivedAt);
      acks.push({ bootId, seq: after });
    }
    this.stmt.touchAgent.run(receivedAt, agentId);
    return { inserted, acks };
  }

  /** Highest seq such that every seq from `from + 1` up to it is stored. */
  private advance(agentId: string, bootId: string, from: number): number {
    let acked = from;
    for (let page = 0; page < ADVANCE_MAX_PAGES; page++) {
      const seqs = this.stmt.nextSeqs.all(agentId, bootId, acked, ADVANCE_PAGE) as number[];
      let i = 0;
      while (i < seqs.length && seqs[i] === acked + 1) {
        acked++;
        i++;
      }
      if (i < seqs.length || seqs.length < ADVANCE_PAGE) break;
    }
    return acked;
  }

  async lastSeq(agentId: string, bootId: string): Promise<number | null> {
    const seq = this.stmt.getAck.get(agentId, bootId) as number | undefined;
    return seq ? seq : null;
  }

  async listEvents(query: EventQuery): Promise<Event[]> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? DEFAULT_EVENT_QUERY_LIMIT)), MAX_EVENT_QUERY_LIMIT);
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.host !== undefined) (where.push('agent_id = ?'), params.push(query.host));
    if (query.service !== undefined) (where.push('service = ?'), params.push(query.service));
    if (query.type !== undefined) (where.push('type = ?'), params.push(query.type));
    if (query.since !== undefined) (where.push('at >= ?'), params.push(query.since));
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // With `since`, page forward from it; without, show the latest events (what an operator
    // opening the history wants), still oldest first.
    const sql =
      query.since !== undefined
        ? `SELECT payload FROM events ${cond} ORDER BY at, id LIMIT ?`
        : `SELECT payload FROM (SELECT payload, at, id FROM events ${cond} ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id`;
    let stmt = this.queryCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql).pluck();
      this.queryCache.set(sql, stmt);
    }
    return (stmt.all(...params, limit) as string[]).map((p) => JSON.parse(p) as Event);
  }

  async prune(before: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < PRUNE_MAX_CHUNKS; i++) {
      const n = this.stmt.pruneEvents.run(before, PRUNE_CHUNK).changes;
      total += n;
      if (n < PRUNE_CHUNK) break;
    }
    // Watermarks of earlier boots silent for the whole retention period go too (one row per
    // agent restart would otherwise pile up); the current boot's watermark always stays.
    this.stmt.pruneAcks.run(before);
    this.delivery.prune(before);
    return total;
  }

  async enqueueNotification(notification: Notification, messages: readonly unknown[], logEntry: NotificationLogEntry, options: { failed?: string } = {}): Promise<OutboxEntry> {
    return this.delivery.enqueue(notification, messages, logEntry, options.failed);
  }

  async recordNotificationLog(logEntry: NotificationLogEntry): Promise<void> {
    this.delivery.recordNotificationLog(logEntry);
  }

  async getNotificationLog(receiver: string, groupKey: string): Promise<NotificationLogEntry | undefined> {
    return this.delivery.getNotificationLog(receiver, groupKey);
  }

  async listNotificationLog(): Promise<NotificationLogEntry[]> {
    return this.delivery.listNotificationLog();
  }

  async pendingDeliveries(receiver: string, now: number, limit: number): Promise<OutboxEntry[]> {
    return this.delivery.pendingDeliveries(receiver, now, limit);
  }

  async nextPendingAt(receiver: string): Promise<number | null> {
    return this.delivery.nextPendingAt(receiver);
  }

  async pendingCounts(): Promise<{ receiver: string; pending: number }[]> {
    return this.delivery.pendingCounts();
  }

  async markMessageDelivered(id: string, index: number, attempt: AttemptInfo): Promise<void> {
    this.delivery.markMessageDelivered(id, index, attempt);
  }

  async scheduleRetry(id: string, nextAttemptAt: number, error: string, attempt: AttemptInfo): Promise<void> {
    this.delivery.scheduleRetry(id, nextAttemptAt, error, attempt);
  }

  async markFailed(id: string, error: string, attempt: AttemptInfo): Promise<void> {
    this.delivery.markFailed(id, error, attempt);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    this.delivery.markDelivered(id, at);
  }

  async getOutboxEntry(id: string): Promise<OutboxEntry | undefined> {
    return this.delivery.getOutboxEntry(id);
  }

  async listOutbox(query: OutboxQuery): Promise<OutboxSummary[]> {
    return this.delivery.listOutbox(query);
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryLogEntry[]> {
    return this.delivery.listDeliveries(query);
  }

  async createSilence(silence: Silence): Promise<void> {
    this.delivery.createSilence(silence);
  }

  async getSilence(id: string): Promise<Silence | undefined> {
    return this.delivery.getSilence(id);
  }

  async listSilences(query: SilenceQuery): Promise<Silence[]> {
    return this.delivery.listSilences(query);
  }

  async expireSilence(id: string, at: number): Promise<Silence | undefined> {
    return this.delivery.expireSilence(id, at);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** The seq ranges a `gap` event declares lost: `data.lost: [{ bootId, fromSeq, toSeq }]`. */
function gapRanges(e: Event): { bootId: string; toSeq: number }[] {
  const lost = (e.data as { lost?: unknown } | undefined)?.lost;
  if (!Array.isArray(lost)) return [];
  return lost.flatMap((r: unknown) => {
    const o = r as { bootId?: unknown; toSeq?: unknown };
    return typeof o?.bootId === 'string' && Number.isInteger(o.toSeq) && (o.toSeq as number) > 0 ? [{ bootId: o.bootId, toSeq: o.toSeq as number }] : [];
  });
}
