import type { ServiceState } from '../../shared/protocol/constants.js';

/**
 * Per-service probe history (docs/http-api.md, history): one bucket per service and
 * minute, and the incidents the coordinator saw. Kept apart from events: buckets are
 * aggregates written once a minute, never replayed, pruned by `history.retention`.
 */

/** Upper bounds (ms) of the latency histogram's bins; one more bin takes everything slower. */
export const LATENCY_BOUNDS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;
export const LATENCY_BINS = LATENCY_BOUNDS_MS.length + 1;
export const BUCKET_MS = 60_000;

export interface HistoryBucket {
  host: string;
  service: string;
  /** epoch ms of the minute's start (a multiple of BUCKET_MS) */
  minute: number;
  probes: number;
  failures: number;
  /** slowest probe with a latency, null when none had one */
  latencyMaxMs: number | null;
  /** probe counts per LATENCY_BOUNDS_MS bin, LATENCY_BINS long */
  latency: number[];
  /** ms spent in each state during the minute (states never seen are absent) */
  stateMs: Partial<Record<ServiceState, number>>;
}

/** A service away from healthy/degraded until it was back (docs/http-api.md). */
export interface HistoryIncident {
  host: string;
  service: string;
  startedAt: number;
  /** null while it lasts */
  endedAt: number | null;
  worst: ServiceState;
  /** automatic restarts started while it lasted */
  restarts: number;
}

export interface HistoryStore {
  /** Adds each bucket to the stored one of the same host, service and minute (or stores it). */
  addBuckets(buckets: readonly HistoryBucket[]): Promise<void>;
  /** Buckets with from <= minute < to, oldest first. */
  listBuckets(host: string, service: string, from: number, to: number): Promise<HistoryBucket[]>;
  /** Stores an incident, replacing the one with the same host, service and start. */
  putIncident(incident: HistoryIncident): Promise<void>;
  /** Incidents still open or ended at or after `from`, oldest first. */
  listIncidents(host: string, service: string, from: number): Promise<HistoryIncident[]>;
  /** Every incident still open, of every service: what a starting coordinator resumes. */
  openIncidents(): Promise<HistoryIncident[]>;
  /** Retention: deletes buckets of minutes before `before` and incidents ended before it; returns how many buckets went. */
  prune(before: number): Promise<number>;
}
