import type { ServiceState } from '../../shared/protocol/constants.js';
import { BUCKET_MS, type HistoryBucket, type HistoryIncident } from '../store/history-store.js';
import { emptyBucket, mergeInto, quantile } from './bucket.js';
import { isUp } from './incidents.js';

/** The windows uptime is reported for. */
export const UPTIME_WINDOWS = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
/** A history answer has at most about this many buckets; longer ranges merge minutes into steps. */
export const MAX_BUCKETS_PER_ANSWER = 1440;

/**
 * Uptime % over buckets: time up (healthy, degraded) / time observed (every state but
 * unknown), to three decimals; null when nothing was observed.
 */
export function uptime(buckets: readonly HistoryBucket[]): number | null {
  let up = 0;
  let observed = 0;
  for (const b of buckets) {
    for (const [state, ms] of Object.entries(b.stateMs) as [ServiceState, number][]) {
      if (state === 'unknown') continue;
      observed += ms;
      if (isUp(state)) up += ms;
    }
  }
  return observed === 0 ? null : Math.round((up / observed) * 100_000) / 1000;
}

/** Minutes per step so that `rangeMs` fits in MAX_BUCKETS_PER_ANSWER buckets. */
export function stepMinutes(rangeMs: number): number {
  return Math.max(1, Math.ceil(rangeMs / BUCKET_MS / MAX_BUCKETS_PER_ANSWER));
}

/** Buckets merged into steps of `minutes`, aligned to the epoch. */
export function coarsen(buckets: readonly HistoryBucket[], minutes: number): HistoryBucket[] {
  if (minutes === 1) return [...buckets];
  const step = minutes * BUCKET_MS;
  const out: HistoryBucket[] = [];
  for (const b of buckets) {
    const start = Math.floor(b.minute / step) * step;
    let last = out[out.length - 1];
    if (!last || last.minute !== start) out.push((last = emptyBucket(b.host, b.service, start)));
    mergeInto(last, b);
  }
  return out;
}

/** One bucket as the API serves it. */
export function bucketJson(b: HistoryBucket) {
  const stateSeconds: Partial<Record<ServiceState, number>> = {};
  for (const [state, ms] of Object.entries(b.stateMs) as [ServiceState, number][]) stateSeconds[state] = Math.round(ms / 10) / 100;
  return {
    at: new Date(b.minute).toISOString(),
    probes: b.probes,
    failures: b.failures,
    latencyMs: { p50: quantile(b, 0.5), p95: quantile(b, 0.95), max: b.latencyMaxMs },
    stateSeconds,
  };
}

export function incidentJson(i: HistoryIncident, now: number) {
  return {
    startedAt: new Date(i.startedAt).toISOString(),
    endedAt: i.endedAt === null ? null : new Date(i.endedAt).toISOString(),
    durationSeconds: Math.round(((i.endedAt ?? now) - i.startedAt) / 1000),
    worst: i.worst,
    restarts: i.restarts,
  };
}
