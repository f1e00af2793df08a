import type { ServiceState } from '../../shared/protocol/constants.js';
import { BUCKET_MS, LATENCY_BINS, LATENCY_BOUNDS_MS, type HistoryBucket } from '../store/history-store.js';

/** An empty bucket for the minute that holds `at`. */
export function emptyBucket(host: string, service: string, at: number): HistoryBucket {
  return { host, service, minute: Math.floor(at / BUCKET_MS) * BUCKET_MS, probes: 0, failures: 0, latencyMaxMs: null, latency: new Array<number>(LATENCY_BINS).fill(0), stateMs: {} };
}

export function addProbe(b: HistoryBucket, ok: boolean, latencyMs: number | null): void {
  b.probes++;
  if (!ok) b.failures++;
  if (latencyMs === null) return;
  b.latency[latencyBin(latencyMs)]!++;
  b.latencyMaxMs = b.latencyMaxMs === null ? latencyMs : Math.max(b.latencyMaxMs, latencyMs);
}

export function addStateTime(b: HistoryBucket, state: ServiceState, ms: number): void {
  if (ms > 0) b.stateMs[state] = (b.stateMs[state] ?? 0) + ms;
}

export function latencyBin(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i < 0 ? LATENCY_BOUNDS_MS.length : i;
}

/** Adds `b` into `into` (same service; minutes may differ: coarser steps). */
export function mergeInto(into: HistoryBucket, b: HistoryBucket): void {
  into.probes += b.probes;
  into.failures += b.failures;
  if (b.latencyMaxMs !== null) into.latencyMaxMs = into.latencyMaxMs === null ? b.latencyMaxMs : Math.max(into.latencyMaxMs, b.latencyMaxMs);
  b.latency.forEach((n, i) => (into.latency[i] = (into.latency[i] ?? 0) + n));
  for (const [state, ms] of Object.entries(b.stateMs) as [ServiceState, number][]) addStateTime(into, state, ms);
}

/**
 * The q-quantile from the histogram: the upper bound of the bin it falls in, capped by the
 * observed maximum (the slowest bin has no upper bound). Null without latencies.
 */
export function quantile(b: HistoryBucket, q: number): number | null {
  const total = b.latency.reduce((a, n) => a + n, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < b.latency.length; i++) {
    seen += b.latency[i]!;
    if (seen >= rank) return Math.min(LATENCY_BOUNDS_MS[i] ?? Infinity, b.latencyMaxMs ?? Infinity);
  }
  return b.latencyMaxMs;
}

export function isEmpty(b: HistoryBucket): boolean {
  return b.probes === 0 && Object.keys(b.stateMs).every((s) => s === 'unknown');
}
