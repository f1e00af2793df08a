import type Database from 'better-sqlite3';
import type { HostMaintenance, MaintenanceStore } from './maintenance-store.js';

interface Row {
  host: string;
  since: number;
  until: number;
  comment: string;
  created_by: string;
}

/** The `host_maintenance` table (schema step 6). */
export class SqliteMaintenanceTables implements MaintenanceStore {
  private readonly stmt: Record<'put' | 'del' | 'list' | 'prune', Database.Statement>;

  constructor(db: Database.Database) {
    this.stmt = {
      put: db.prepare(
        `INSERT INTO host_maintenance (host, since, until, comment, created_by) VALUES (@host, @since, @until, @comment, @by)
         ON CONFLICT (host) DO UPDATE SET since = excluded.since, until = excluded.until, comment = excluded.comment, created_by = excluded.created_by`,
      ),
      del: db.prepare('DELETE FROM host_maintenance WHERE host = ?'),
      list: db.prepare('SELECT * FROM host_maintenance ORDER BY host'),
      prune: db.prepare('DELETE FROM host_maintenance WHERE until < ?'),
    };
  }

  async putMaintenance(m: HostMaintenance): Promise<void> {
    this.stmt.put.run(m);
  }

  async deleteMaintenance(host: string): Promise<boolean> {
    return this.stmt.del.run(host).changes > 0;
  }

  async listMaintenance(): Promise<HostMaintenance[]> {
    return (this.stmt.list.all() as Row[]).map((r) => ({ host: r.host, since: r.since, until: r.until, comment: r.comment, by: r.created_by }));
  }

  async prune(before: number): Promise<void> {
    this.stmt.prune.run(before);
  }
}
