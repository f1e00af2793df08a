import type Database from 'better-sqlite3';
import { SERVICE_STATES, type ServiceState } from '../../shared/protocol/constants.js';
import { BUCKET_MS, LATENCY_BINS, type HistoryBucket, type HistoryIncident, type HistoryStore } from './history-store.js';
import { deleteInChunks } from './sqlite-prune.js';

const LAT_COLS = Array.from({ length: LATENCY_BINS }, (_, i) => `l${i}`);
const STATE_COLS = SERVICE_STATES.map((s) => `ms_${s}`);
const VALUE_COLS = ['probes', 'failures', ...LAT_COLS, ...STATE_COLS];

interface BucketRow {
  minute: number;
  lat_max: number | null;
  [col: string]: number | null;
}

/** history_series, history_buckets, history_incidents (sqlite-schema.ts). */
export class SqliteHistoryTables implements HistoryStore {
  private readonly seriesId: Database.Statement;
  private readonly newSeries: Database.Statement;
  private readonly upsertBucket: Database.Statement;
  private readonly selectBuckets: Database.Statement;
  private readonly upsertIncident: Database.Statement;
  private readonly selectIncidents: Database.Statement;
  private readonly selectOpenIncidents: Database.Statement;
  private readonly pruneBuckets: Database.Statement;
  private readonly pruneIncidents: Database.Statement;
  private readonly addAll: (buckets: readonly HistoryBucket[]) => void;

  constructor(private readonly db: Database.Database) {
    this.seriesId = db.prepare('SELECT id FROM history_series WHERE host = ? AND service = ?');
    this.newSeries = db.prepare('INSERT INTO history_series (host, service) VALUES (?, ?)');
    const cols = ['series', 'minute', 'lat_max', ...VALUE_COLS];
    this.upsertBucket = db.prepare(
      `INSERT INTO history_buckets (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (series, minute) DO UPDATE SET
         lat_max = CASE WHEN excluded.lat_max IS NULL OR lat_max > excluded.lat_max THEN COALESCE(lat_max, excluded.lat_max) ELSE excluded.lat_max END,
         ${VALUE_COLS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
    );
    this.selectBuckets = db.prepare(`SELECT minute, lat_max, ${VALUE_COLS.join(', ')} FROM history_buckets WHERE series = ? AND minute >= ? AND minute < ? ORDER BY minute`);
    this.upsertIncident = db.prepare(
      `INSERT INTO history_incidents (series, started_at, ended_at, worst, restarts) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (series, started_at) DO UPDATE SET ended_at = excluded.ended_at, worst = excluded.worst, restarts = excluded.restarts`,
    );
    this.selectIncidents = db.prepare('SELECT started_at, ended_at, worst, restarts FROM history_incidents WHERE series = ? AND (ended_at IS NULL OR ended_at >= ?) ORDER BY started_at');
    this.selectOpenIncidents = db.prepare(
      `SELECT s.host, s.service, i.started_at, i.worst, i.restarts FROM history_incidents i JOIN history_series s ON s.id = i.series
       WHERE i.ended_at IS NULL ORDER BY i.started_at`,
    );
    // WITHOUT ROWID: chunks are picked by primary key
    this.pruneBuckets = db.prepare('DELETE FROM history_buckets WHERE (series, minute) IN (SELECT series, minute FROM history_buckets WHERE minute < ? LIMIT ?)');
    this.pruneIncidents = db.prepare('DELETE FROM history_incidents WHERE ended_at IS NOT NULL AND ended_at < ?');
    this.addAll = db.transaction((buckets: readonly HistoryBucket[]) => {
      for (const b of buckets) this.upsertBucket.run(bucketRow(this.series(b.host, b.service, true)!, b));
    });
  }

  async addBuckets(buckets: readonly HistoryBucket[]): Promise<void> {
    if (buckets.length > 0) this.addAll(buckets);
  }

  async listBuckets(host: string, service: string, from: number, to: number): Promise<HistoryBucket[]> {
    const series = this.series(host, service, false);
    if (series === undefined) return [];
    const rows = this.selectBuckets.all(series, Math.ceil(from / BUCKET_MS), Math.ceil(to / BUCKET_MS)) as BucketRow[];
    return rows.map((r) => fromRow(host, service, r));
  }

  async putIncident(i: HistoryIncident): Promise<void> {
    this.upsertIncident.run(this.series(i.host, i.service, true), i.startedAt, i.endedAt, i.worst, i.restarts);
  }

  async listIncidents(host: string, service: string, from: number): Promise<HistoryIncident[]> {
    const series = this.series(host, service, false);
    if (series === undefined) return [];
    const rows = this.selectIncidents.all(series, from) as { started_at: number; ended_at: number | null; worst: ServiceState; restarts: number }[];
    return rows.map((r) => ({ host, service, startedAt: r.started_at, endedAt: r.ended_at, worst: r.worst, restarts: r.restarts }));
  }

  async openIncidents(): Promise<HistoryIncident[]> {
    const rows = this.selectOpenIncidents.all() as { host: string; service: string; started_at: number; worst: ServiceState; restarts: number }[];
    return rows.map((r) => ({ host: r.host, service: r.service, startedAt: r.started_at, endedAt: null, worst: r.worst, restarts: r.restarts }));
  }

  async prune(before: number): Promise<number> {
    const removed = deleteInChunks(this.pruneBuckets, Math.floor(before / BUCKET_MS));
    this.pruneIncidents.run(before);
    return removed;
  }

  private series(host: string, service: string, create: boolean): number | undefined {
    const row = this.seriesId.get(host, service) as { id: number } | undefined;
    if (row || !create) return row?.id;
    return Number(this.newSeries.run(host, service).lastInsertRowid);
  }
}

function bucketRow(series: number, b: HistoryBucket): Record<string, number | null> {
  const row: Record<string, number | null> = { series, minute: Math.floor(b.minute / BUCKET_MS), lat_max: b.latencyMaxMs, probes: b.probes, failures: b.failures };
  LAT_COLS.forEach((c, i) => (row[c] = b.latency[i] ?? 0));
  SERVICE_STATES.forEach((s, i) => (row[STATE_COLS[i]!] = Math.round(b.stateMs[s] ?? 0)));
  return row;
}

function fromRow(host: string, service: string, r: BucketRow): HistoryBucket {
  const stateMs: Partial<Record<ServiceState, number>> = {};
  SERVICE_STATES.forEach((s, i) => {
    const ms = r[STATE_COLS[i]!] as number;
    if (ms > 0) stateMs[s] = ms;
  });
  return {
    host,
    service,
    minute: r.minute * BUCKET_MS,
    probes: r.probes as number,
    failures: r.failures as number,
    latencyMaxMs: r.lat_max,
    latency: LAT_COLS.map((c) => r[c] as number),
    stateMs,
  };
}
