import type Database from 'better-sqlite3';

/**
 * Schema migrations, applied in order and tracked in `PRAGMA user_version`, so a database
 * written by an older coordinator is upgraded in place. Append; never edit a shipped step.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE agents (
     id            TEXT PRIMARY KEY,
     boot_id       TEXT NOT NULL,
     labels        TEXT NOT NULL,
     agent_version TEXT NOT NULL,
     first_seen    INTEGER NOT NULL,
     last_seen     INTEGER NOT NULL,
     connected     INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE events (
     id          INTEGER PRIMARY KEY,
     agent_id    TEXT NOT NULL,
     boot_id     TEXT NOT NULL,
     seq         INTEGER NOT NULL,
     at          INTEGER NOT NULL,
     type        TEXT NOT NULL,
     service     TEXT,
     payload     TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     UNIQUE (agent_id, boot_id, seq)
   );
   CREATE INDEX events_at ON events (at, id);
   CREATE INDEX events_agent_at ON events (agent_id, at);
   CREATE INDEX events_service_at ON events (service, at);
   CREATE INDEX events_received_at ON events (received_at);
   -- Per (agent, boot) acknowledged watermark: 1..seq are stored. Separate from events so
   -- retention pruning never makes an old event look new again.
   CREATE TABLE acks (
     agent_id   TEXT NOT NULL,
     boot_id    TEXT NOT NULL,
     seq        INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (agent_id, boot_id)
   ) WITHOUT ROWID;`,
  // 2: the notification path (docs/states-and-alerts.md): dedup log, durable outbox, delivery log, silences.
  `CREATE TABLE notification_log (
     receiver  TEXT NOT NULL,
     group_key TEXT NOT NULL,
     firing    TEXT NOT NULL,   -- JSON array of fingerprints
     resolved  TEXT NOT NULL,   -- JSON array of fingerprints
     sent_at   INTEGER NOT NULL,
     PRIMARY KEY (receiver, group_key)
   ) WITHOUT ROWID;
   CREATE INDEX notification_log_sent_at ON notification_log (sent_at);
   -- One row per notification (a notification belongs to one receiver). seq orders a
   -- receiver's queue; next_message is delivery progress: messages before it went out.
   CREATE TABLE outbox (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT,
     id              TEXT NOT NULL UNIQUE,
     receiver        TEXT NOT NULL,
     group_key       TEXT NOT NULL,
     status          TEXT NOT NULL,
     notification    TEXT NOT NULL,
     messages        TEXT NOT NULL,
     message_count   INTEGER NOT NULL,
     next_message    INTEGER NOT NULL DEFAULT 0,
     attempts        INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
     last_error      TEXT,
     created_at      INTEGER NOT NULL,
     updated_at      INTEGER NOT NULL
   );
   CREATE INDEX outbox_pending ON outbox (receiver, seq) WHERE state = 'pending';
   CREATE INDEX outbox_finished ON outbox (updated_at) WHERE state <> 'pending';
   CREATE TABLE deliveries (
     id              INTEGER PRIMARY KEY,
     receiver        TEXT NOT NULL,
     notification_id TEXT NOT NULL,
     message_index   INTEGER NOT NULL,
     outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
     status          INTEGER,
     error           TEXT,
     at              INTEGER NOT NULL
   );
   CREATE INDEX deliveries_receiver ON deliveries (receiver, id);
   CREATE INDEX deliveries_notification ON deliveries (notification_id, id);
   CREATE INDEX deliveries_at ON deliveries (at);
   CREATE TABLE silences (
     id         TEXT PRIMARY KEY,
     matchers   TEXT NOT NULL,  -- JSON array of { name, value, isRegex, isEqual }
     starts_at  INTEGER NOT NULL,
     ends_at    INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     comment    TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX silences_ends_at ON silences (ends_at);`,
  // 3: one row rewritten by the writability probe (write-health.ts), apart from real data.
  `CREATE TABLE write_probe (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     at INTEGER NOT NULL
   );`,
  // 4: fleet restart jobs (coordinator/jobs/); targets keep their job's order in idx.
  `CREATE TABLE restart_jobs (
     id              TEXT PRIMARY KEY,
     created_at      INTEGER NOT NULL,
     created_by      TEXT NOT NULL,
     reason          TEXT NOT NULL,
     selector        TEXT NOT NULL,  -- JSON { hosts?, services?, labels? }
     max_parallel    INTEGER NOT NULL,
     health_timeout  INTEGER NOT NULL,
     max_failures    INTEGER NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'aborted')),
     started_at      INTEGER,
     ended_at        INTEGER,
     abort_requested INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX restart_jobs_unfinished ON restart_jobs (created_at) WHERE state IN ('pending', 'running');
   CREATE TABLE restart_targets (
     job_id     TEXT NOT NULL,
     idx        INTEGER NOT NULL,
     host       TEXT NOT NULL,
     service    TEXT NOT NULL,
     unit       TEXT NOT NULL,
     state      TEXT NOT NULL CHECK (state IN ('pending', 'restarting', 'waiting', 'healthy', 'failed', 'skipped')),
     command_id TEXT,
     started_at INTEGER,
     result_at  TEXT,
     ended_at   INTEGER,
     reason     TEXT NOT NULL,
     PRIMARY KEY (job_id, idx)
   ) WITHOUT ROWID;`,
  // 5: history (history-store.ts): per-service 1-minute buckets and incidents. One column per
  // state and latency bin: SQLite stores a 0 in no bytes, so a quiet minute costs little.
  `CREATE TABLE history_series (
     id      INTEGER PRIMARY KEY,
     host    TEXT NOT NULL,
     service TEXT NOT NULL,
     UNIQUE (host, service)
   );
   CREATE TABLE history_buckets (
     series   INTEGER NOT NULL,
     minute   INTEGER NOT NULL,  -- epoch minutes
     probes   INTEGER NOT NULL,
     failures INTEGER NOT NULL,
     lat_max  REAL,
     l0 INTEGER NOT NULL, l1 INTEGER NOT NULL, l2 INTEGER NOT NULL, l3 INTEGER NOT NULL, l4 INTEGER NOT NULL,
     l5 INTEGER NOT NULL, l6 INTEGER NOT NULL, l7 INTEGER NOT NULL, l8 INTEGER NOT NULL, l9 INTEGER NOT NULL,
     ms_unknown INTEGER NOT NULL, ms_starting INTEGER NOT NULL, ms_healthy INTEGER NOT NULL, ms_degraded INTEGER NOT NULL,
     ms_unhealthy INTEGER NOT NULL, ms_down INTEGER NOT NULL, ms_restarting INTEGER NOT NULL, ms_gave_up INTEGER NOT NULL,
     PRIMARY KEY (series, minute)
   ) WITHOUT ROWID;
   CREATE INDEX history_buckets_minute ON history_buckets (minute);
   CREATE TABLE history_incidents (
     series     INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at   INTEGER,
     worst      TEXT NOT NULL,
     restarts   INTEGER NOT NULL,
     PRIMARY KEY (series, started_at)
   ) WITHOUT ROWID;`,
  // 6: the audit log (coordinator/audit/); pruned by time with its own retention.
  `CREATE TABLE audit_log (
     id      INTEGER PRIMARY KEY AUTOINCREMENT,
     at      INTEGER NOT NULL,
     actor   TEXT NOT NULL,
     remote  TEXT,
     action  TEXT NOT NULL,
     target  TEXT,
     detail  TEXT NOT NULL,  -- JSON object
     outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
     status  INTEGER
   );
   CREATE INDEX audit_log_at ON audit_log (at);
   CREATE INDEX audit_log_action ON audit_log (action, id);`,
  // 7: hosts in maintenance (coordinator/maintenance/), one window per host.
  `CREATE TABLE host_maintenance (
     host       TEXT PRIMARY KEY,
     since      INTEGER NOT NULL,
     until      INTEGER NOT NULL,
     comment    TEXT NOT NULL,
     created_by TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 8: the event history is read in receive order (by host or service too); these indexes
  // give that order directly (the rowid is id) instead of a sort of every matching event.
  `DROP INDEX events_agent_at;
   DROP INDEX events_service_at;
   CREATE INDEX events_agent_received ON events (agent_id, received_at);
   CREATE INDEX events_service_received ON events (service, received_at);`,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this coordinator understands (${MIGRATIONS.length}); upgrade llm-health`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
