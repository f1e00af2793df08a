import type Database from 'better-sqlite3';
import type { Matcher, Silence } from '../alerts/types.js';
import type { SilenceQuery, SilenceStore } from './silence-store.js';

type Stmt = Database.Statement;

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

/** The `silences` table (schema step 2). */
export class SqliteSilenceTables implements SilenceStore {
  private readonly stmt: Record<'insertSilence' | 'getSilence' | 'activeSilences' | 'allSilences' | 'expireSilence' | 'pruneSilences', Stmt>;
  private readonly expireTx: (id: string, at: number) => Silence | undefined;

  constructor(db: Database.Database) {
    this.stmt = {
      insertSilence: db.prepare(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
         VALUES (@id, @matchers, @startsAt, @endsAt, @createdBy, @comment, @createdAt, @updatedAt)`,
      ),
      getSilence: db.prepare('SELECT * FROM silences WHERE id = ?'),
      activeSilences: db.prepare('SELECT * FROM silences WHERE ends_at > ? ORDER BY starts_at, created_at, id'),
      allSilences: db.prepare('SELECT * FROM silences ORDER BY starts_at, created_at, id'),
      expireSilence: db.prepare('UPDATE silences SET ends_at = @at, starts_at = MIN(starts_at, @at), updated_at = @at WHERE id = @id AND ends_at > @at'),
      pruneSilences: db.prepare('DELETE FROM silences WHERE ends_at < ?'),
    };
    this.expireTx = db.transaction((id: string, at: number): Silence | undefined => {
      this.stmt.expireSilence.run({ id, at });
      const row = this.stmt.getSilence.get(id) as SilenceRow | undefined;
      return row && toSilence(row);
    });
  }

  async createSilence(s: Silence): Promise<void> {
    this.stmt.insertSilence.run({ ...s, matchers: JSON.stringify(s.matchers) });
  }

  async getSilence(id: string): Promise<Silence | undefined> {
    const row = this.stmt.getSilence.get(id) as SilenceRow | undefined;
    return row && toSilence(row);
  }

  async listSilences(query: SilenceQuery): Promise<Silence[]> {
    const rows = (query.includeExpired ? this.stmt.allSilences.all() : this.stmt.activeSilences.all(query.now)) as SilenceRow[];
    return rows.map(toSilence);
  }

  async expireSilence(id: string, at: number): Promise<Silence | undefined> {
    return this.expireTx(id, at);
  }

  async prune(before: number): Promise<void> {
    this.stmt.pruneSilences.run(before);
  }
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
