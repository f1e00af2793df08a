import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { chmodIfExists, ensureFileMode, PRIVATE_FILE_MODE } from '../../shared/file-mode.js';
import { SqliteAuditTables } from './sqlite-audit.js';
import { SqliteEventTables } from './sqlite-events.js';
import { SqliteFleetTables } from './sqlite-fleet.js';
import { SqliteHistoryTables } from './sqlite-history.js';
import { SqliteJobTables } from './sqlite-jobs.js';
import { SqliteMaintenanceTables } from './sqlite-maintenance.js';
import { SqliteOutboxTables } from './sqlite-outbox.js';
import { migrate } from './sqlite-schema.js';
import { SqliteSilenceTables } from './sqlite-silences.js';
import type { AuditStore, EventStore, FleetStore, HistoryStore, JobStore, MaintenanceStore, OutboxStore, SilenceStore, Store } from './types.js';
import { WriteHealth, type StoreHealth } from './write-health.js';

/**
 * SQLite backend (better-sqlite3 12: Node 20): one table class per concern, all on one
 * database. WAL so the HTTP API reads while a batch is written; `synchronous=NORMAL`
 * because in WAL mode that is still durable against process crashes and only a power loss
 * can drop the last commits — which the agents' spools replay.
 */
export class SqliteStore implements Store {
  readonly fleet: FleetStore;
  readonly events: EventStore;
  readonly outbox: OutboxStore;
  readonly silences: SilenceStore;
  readonly jobs: JobStore;
  readonly history: HistoryStore;
  readonly maintenance: MaintenanceStore;
  readonly audit: AuditStore;
  private closed = false;
  private readonly health: WriteHealth;

  /**
   * `file` may be ':memory:' (tests); otherwise its directory is created. The database and
   * its -wal and -shm files are the owner's alone (0600) whatever the umask: SQLite gives
   * the -wal and -shm the database file's mode, so the file is created first with that mode.
   */
  static open(file: string): SqliteStore {
    if (file === ':memory:') return SqliteStore.over(new Database(file));
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    ensureFileMode(file, PRIVATE_FILE_MODE);
    const store = SqliteStore.over(new Database(file));
    // left behind with another mode by an earlier run
    for (const suffix of ['-wal', '-shm']) chmodIfExists(`${file}${suffix}`, PRIVATE_FILE_MODE);
    return store;
  }

  /** The store over an open database, which is closed again when setting up fails (a migration that throws). */
  private static over(db: Database.Database): SqliteStore {
    try {
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(private readonly db: Database.Database) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A second process (a backup, sqlite3 shell) may hold a lock briefly; wait instead of failing.
    db.pragma('busy_timeout = 5000');
    migrate(db);
    const probe = db.prepare('INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
    this.health = new WriteHealth(() => probe.run(Date.now()));
    const fleet = new SqliteFleetTables(db);
    this.fleet = this.health.watch(fleet);
    this.events = this.health.watch(new SqliteEventTables(db, fleet));
    this.outbox = this.health.watch(new SqliteOutboxTables(db));
    this.silences = this.health.watch(new SqliteSilenceTables(db));
    this.jobs = this.health.watch(new SqliteJobTables(db));
    this.history = this.health.watch(new SqliteHistoryTables(db));
    this.maintenance = this.health.watch(new SqliteMaintenanceTables(db));
    this.audit = this.health.watch(new SqliteAuditTables(db));
  }

  async checkWritable(): Promise<StoreHealth> {
    return this.closed ? { ok: false, error: 'store closed' } : this.health.check();
  }

  async prune(before: number): Promise<number> {
    const removed = await this.events.prune(before);
    await this.outbox.prune(before);
    await this.silences.prune(before);
    await this.jobs.prune(before);
    await this.maintenance.prune(before);
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
