import type Database from 'better-sqlite3';

/**
 * Statements whose text depends on a query's filters, prepared on first use: preparing
 * costs more than running, and the filter combinations are few.
 */
export class StatementCache {
  private readonly byText = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let stmt = this.byText.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.byText.set(sql, stmt);
    }
    return stmt;
  }
}
