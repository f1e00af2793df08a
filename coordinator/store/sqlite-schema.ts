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
