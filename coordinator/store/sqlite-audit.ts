import type Database from 'better-sqlite3';
import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from './audit-store.js';
import { deleteInChunks } from './sqlite-prune.js';

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  remote: string | null;
  action: string;
  target: string | null;
  detail: string;
  outcome: AuditEntry['outcome'];
  status: number | null;
}

/** The `audit_log` table (schema step 5). */
export class SqliteAuditTables implements AuditStore {
  private readonly insert: Database.Statement;
  private readonly pruneStmt: Database.Statement;
  private readonly lists = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO audit_log (at, actor, remote, action, target, detail, outcome, status)
       VALUES (@at, @actor, @remote, @action, @target, @detail, @outcome, @status)`,
    );
    this.pruneStmt = db.prepare('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? LIMIT ?)');
  }

  async appendAudit(r: AuditRecord): Promise<number> {
    return Number(this.insert.run({ ...r, detail: JSON.stringify(r.detail) }).lastInsertRowid);
  }

  async listAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: q.limit };
    if (q.since !== undefined) {
      where.push('at >= @since');
      args.since = q.since;
    }
    if (q.action !== undefined) {
      const prefix = q.action.endsWith('*');
      // substr instead of LIKE: action names may hold `_` or `%`, which LIKE would read as wildcards
      where.push(prefix ? 'substr(action, 1, @plen) = @action' : 'action = @action');
      args.action = prefix ? q.action.slice(0, -1) : q.action;
      if (prefix) args.plen = q.action.length - 1;
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    let stmt = this.lists.get(sql);
    if (!stmt) this.lists.set(sql, (stmt = this.db.prepare(sql)));
    return (stmt.all(args) as AuditRow[]).map(toEntry);
  }

  async prune(before: number): Promise<number> {
    return deleteInChunks(this.pruneStmt, before);
  }
}

function toEntry(r: AuditRow): AuditEntry {
  return { id: r.id, at: r.at, actor: r.actor, remote: r.remote, action: r.action, target: r.target, detail: JSON.parse(r.detail) as Record<string, unknown>, outcome: r.outcome, status: r.status };
}
