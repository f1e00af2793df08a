import type Database from 'better-sqlite3';
import type { Event } from '../../shared/protocol/messages.js';
import { DEFAULT_EVENT_QUERY_LIMIT, MAX_EVENT_QUERY_LIMIT, type AckState, type AppendResult, type EventPage, type EventQuery, type EventStore } from './event-store.js';
import { fitEventTimes, MAX_EVENT_LEAD_MS } from './event-times.js';
import type { SqliteFleetTables } from './sqlite-fleet.js';
import { deleteInChunks } from './sqlite-prune.js';
import { StatementCache } from './sqlite-statements.js';

type Stmt = Database.Statement;

/** Rows examined per step when advancing a watermark over events that arrived out of order. */
const ADVANCE_PAGE = 1000;
/** Bound on one advance; whatever is left is picked up by the next batch. */
const ADVANCE_MAX_PAGES = 1000;

/**
 * The `events` and `acks` tables (schema step 1). A batch also touches its agent's row
 * (through the fleet tables) in the same transaction: a stored batch is proof of life.
 */
export class SqliteEventTables implements EventStore {
  private readonly stmt: Record<'insertEvent' | 'getAck' | 'upsertAck' | 'nextSeqs' | 'gapEvents' | 'pruneEvents' | 'pruneAcks', Stmt>;
  /** listEvents statements by filter combination */
  private readonly queries: StatementCache;
  private readonly appendTx: (agentId: string, events: readonly Event[], receivedAt: number) => AppendResult;
  /** a boot's `agent_started` time, the lower bound for its events' times */
  private readonly bootStart: Stmt;

  constructor(
    db: Database.Database,
    private readonly fleet: Pick<SqliteFleetTables, 'touch'>,
  ) {
    this.stmt = {
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
      gapEvents: db.prepare("SELECT payload FROM events WHERE agent_id = ? AND type = 'gap'").pluck(),
      pruneEvents: db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? LIMIT ?)'),
      pruneAcks: db.prepare(
        `DELETE FROM acks WHERE updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM agents WHERE agents.id = acks.agent_id AND agents.boot_id = acks.boot_id)`,
      ),
    };
    this.queries = new StatementCache(db);
    this.bootStart = db.prepare(`SELECT at FROM events WHERE agent_id = ? AND boot_id = ? AND seq = 1 AND type = 'agent_started'`).pluck();
    this.appendTx = db.transaction((agentId: string, events: readonly Event[], receivedAt: number) => this.appendInTx(agentId, events, receivedAt));
  }

  async appendEvents(agentId: string, events: readonly Event[], receivedAt: number): Promise<AppendResult> {
    if (events.length === 0) return { inserted: [], acks: [] };
    const fitted = fitEventTimes(events, receivedAt, (bootId) => this.bootStart.get(agentId, bootId) as number | undefined);
    return this.appendTx(agentId, fitted, receivedAt);
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
    for (const e of events) {
      if (e.agentId !== agentId) throw new Error(`event of agent ${JSON.stringify(e.agentId)} in a batch for ${JSON.stringify(agentId)}`);
      // At or below the watermark: processed before, even if retention has since pruned its row.
      if (e.seq <= watermark(e.bootId)) continue;
      const at = Date.parse(e.at);
      const r = this.stmt.insertEvent.run(agentId, e.bootId, e.seq, Number.isNaN(at) ? receivedAt : at, e.type, e.service ?? null, JSON.stringify(e), receivedAt);
      if (r.changes === 1) inserted.push(e);
      // the boots a gap declares losses in may now move past their holes
      if (e.type === 'gap' && r.changes === 1) for (const range of gapRanges(e)) watermark(range.bootId);
    }
    const acks: AckState[] = [];
    for (const [bootId, from] of watermarks) {
      const after = this.advance(agentId, bootId, from);
      if (after !== from) this.stmt.upsertAck.run(agentId, bootId, after, receivedAt);
      acks.push({ bootId, seq: after });
    }
    this.fleet.touch(agentId, receivedAt);
    return { inserted, acks };
  }

  /**
   * Highest seq such that every seq from `from + 1` up to it is stored, or declared lost by one
   * of the agent's own `gap` events (its spool dropped them: they will never arrive). A hole is
   * crossed only up to a seq that is really stored, so the watermark never passes what the boot
   * has sent: a gap claiming losses up to 2^53 cannot acknowledge events not yet received.
   */
  private advance(agentId: string, bootId: string, from: number): number {
    let acked = from;
    let lost: { fromSeq: number; toSeq: number }[] | undefined;
    for (let page = 0; page < ADVANCE_MAX_PAGES; page++) {
      const seqs = this.stmt.nextSeqs.all(agentId, bootId, acked, ADVANCE_PAGE) as number[];
      let i = 0;
      while (i < seqs.length) {
        if (seqs[i] === acked + 1) {
          acked++;
          i++;
          continue;
        }
        // a hole before seqs[i]: crossable only where a gap event declared it lost
        lost ??= this.lostRanges(agentId, bootId);
        const next = seqs[i]!;
        const covered = lost.some((r) => r.fromSeq <= acked + 1 && r.toSeq >= next - 1);
        if (!covered) return acked;
        acked = next;
        i++;
      }
      if (seqs.length < ADVANCE_PAGE) break;
    }
    return acked;
  }

  /** What this agent's stored gap events declare lost in `bootId`. */
  private lostRanges(agentId: string, bootId: string): { fromSeq: number; toSeq: number }[] {
    return (this.stmt.gapEvents.all(agentId) as string[]).flatMap((p) => gapRanges(JSON.parse(p) as Event).filter((r) => r.bootId === bootId));
  }

  async lastSeq(agentId: string, bootId: string): Promise<number | null> {
    const seq = this.stmt.getAck.get(agentId, bootId) as number | undefined;
    return seq ? seq : null;
  }

  async listEvents(query: EventQuery): Promise<Event[]> {
    return (await this.pageEvents(query)).events;
  }

  async pageEvents(query: EventQuery): Promise<EventPage> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? DEFAULT_EVENT_QUERY_LIMIT)), MAX_EVENT_QUERY_LIMIT);
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.host !== undefined) (where.push('agent_id = ?'), params.push(query.host));
    if (query.service !== undefined) (where.push('service = ?'), params.push(query.service));
    if (query.type !== undefined) (where.push('type = ?'), params.push(query.type));
    // Stored times are at most MAX_EVENT_LEAD_MS past their receipt (event-times.ts), so
    // nothing at or after `since` was received earlier than this: the receive-order index applies.
    if (query.since !== undefined) (where.push('at >= ? AND received_at >= ?'), params.push(query.since, query.since - MAX_EVENT_LEAD_MS));
    if (query.after !== undefined) (where.push('(received_at, id) > (?, ?)'), params.push(query.after.receivedAt, query.after.id));
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // Receive order, not the agents' clocks: an agent cannot date its events so that they
    // sort ahead of everyone else's, and a page cursor stays valid as events arrive. With
    // `since` or `after`, page forward; without, show the latest events (what an operator
    // opening the history wants), still oldest first.
    const sql =
      query.since !== undefined || query.after !== undefined
        ? `SELECT payload, received_at, id FROM events ${cond} ORDER BY received_at, id LIMIT ?`
        : `SELECT * FROM (SELECT payload, received_at, id FROM events ${cond} ORDER BY received_at DESC, id DESC LIMIT ?) ORDER BY received_at, id`;
    const rows = this.queries.get(sql).all(...params, limit) as { payload: string; received_at: number; id: number }[];
    const last = rows.at(-1);
    return { events: rows.map((r) => JSON.parse(r.payload) as Event), next: last ? { receivedAt: last.received_at, id: last.id } : null };
  }

  async prune(before: number): Promise<number> {
    const removed = deleteInChunks(this.stmt.pruneEvents, before);
    // Watermarks of earlier boots silent for the whole retention period go too (one row per
    // agent restart would otherwise pile up); the current boot's watermark always stays.
    this.stmt.pruneAcks.run(before);
    return removed;
  }
}

/** The seq ranges a `gap` event declares lost: `data.lost: [{ bootId, fromSeq, toSeq }]`. */
function gapRanges(e: Event): { bootId: string; fromSeq: number; toSeq: number }[] {
  const lost = (e.data as { lost?: unknown } | undefined)?.lost;
  if (!Array.isArray(lost)) return [];
  return lost.flatMap((r: unknown) => {
    const o = r as { bootId?: unknown; fromSeq?: unknown; toSeq?: unknown };
    const ok = typeof o?.bootId === 'string' && Number.isSafeInteger(o.fromSeq) && Number.isSafeInteger(o.toSeq) && (o.fromSeq as number) >= 1 && (o.toSeq as number) >= (o.fromSeq as number);
    return ok ? [{ bootId: o.bootId as string, fromSeq: o.fromSeq as number, toSeq: o.toSeq as number }] : [];
  });
}
