/**
 * Service history as the page shows it: uptime figures, the heartbeat bar's minutes and
 * their summary, incident durations. No DOM here, so the Node tests can check it.
 */
import type { HistoryBucket, Incident, ServiceState } from './api.js';

const MINUTE_MS = 60_000;

/** "99.86 %": never rounded up to 100 while anything was down; "no data" for null. */
export function uptimeText(pct: number | null): string {
  if (pct === null) return 'no data';
  if (pct >= 100) return '100 %';
  return `${(Math.floor(pct * 100) / 100).toFixed(2)} %`;
}

/**
 * What one minute of the heartbeat bar says: `down` when any time was spent in a state that
 * is not up (starting, restarting, unhealthy, down, gave up), `failures` when some probes
 * failed while the service was up, `ok` when it was observed up without a failed probe,
 * `none` when nothing was observed (no bucket, or only `unknown`).
 */
export type MinuteKind = 'ok' | 'failures' | 'down' | 'none';

export interface HeartbeatMinute {
  /** epoch ms of the minute's start, on the coordinator's clock */
  minute: number;
  kind: MinuteKind;
  /** the worst state seen in the minute; null when none was observed */
  worst: ServiceState | null;
  probes: number;
  failures: number;
}

/** Worse states last: the order the history API uses for an incident's `worst`. */
const SEVERITY: Record<string, number> = { unknown: 0, healthy: 1, degraded: 2, starting: 3, restarting: 4, unhealthy: 5, down: 6, gave_up: 7 };
const UP = new Set<string>(['healthy', 'degraded']);

export function classifyBucket(b: HistoryBucket | undefined): Pick<HeartbeatMinute, 'kind' | 'worst'> {
  if (!b) return { kind: 'none', worst: null };
  let worst: ServiceState | null = null;
  let notUp = false;
  let up = false;
  for (const [state, seconds] of Object.entries(b.stateSeconds) as [ServiceState, number][]) {
    if (!(seconds > 0) || state === 'unknown') continue;
    if (worst === null || (SEVERITY[state] ?? 0) > (SEVERITY[worst] ?? 0)) worst = state;
    if (UP.has(state)) up = true;
    else notUp = true;
  }
  if (notUp) return { kind: 'down', worst };
  if (b.failures > 0) return { kind: 'failures', worst };
  if (up || b.probes > 0) return { kind: 'ok', worst };
  return { kind: 'none', worst };
}

/**
 * The last `count` one-minute steps up to the minute holding `now` (the coordinator's clock),
 * oldest first. Buckets of coarser steps are not minutes: ask for a range of 24 h or less.
 */
export function heartbeat(buckets: readonly HistoryBucket[], now: number, count: number): HeartbeatMinute[] {
  const byMinute = new Map<number, HistoryBucket>();
  for (const b of buckets) byMinute.set(Date.parse(b.at), b);
  const lastBucket = buckets.length ? Date.parse(buckets[buckets.length - 1]!.at) : -Infinity;
  // the minute in progress is in the answer: a `now` a little behind it must not hide it
  const end = Math.max(Math.floor(now / MINUTE_MS) * MINUTE_MS, lastBucket);
  const out: HeartbeatMinute[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const minute = end - i * MINUTE_MS;
    const b = byMinute.get(minute);
    out.push({ minute, ...classifyBucket(b), probes: b?.probes ?? 0, failures: b?.failures ?? 0 });
  }
  return out;
}

const KIND_WORDS: [MinuteKind, string][] = [
  ['ok', 'ok'],
  ['failures', 'with failures'],
  ['down', 'not up'],
  ['none', 'no data'],
];

/** "last 60 min: 58 ok, 2 with failures": what the bar shows, in words, for everyone. */
export function heartbeatSummary(minutes: readonly HeartbeatMinute[]): string {
  const parts = KIND_WORDS.map(([kind, word]) => [minutes.filter((m) => m.kind === kind).length, word] as const)
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`);
  return `last ${minutes.length} min: ${parts.join(', ') || 'nothing'}`;
}

/** One minute's detail for its tooltip: "60 probes, 2 failed; worst state down". */
export function minuteDetail(m: HeartbeatMinute): string {
  if (m.kind === 'none') return 'no data';
  const probes = `${m.probes} probe${m.probes === 1 ? '' : 's'}${m.failures ? `, ${m.failures} failed` : ''}`;
  return m.worst ? `${probes}; worst state ${m.worst.replace('_', ' ')}` : probes;
}

/** The latest latencies per minute (the slowest probe of each), oldest first: a sparkline's seed. */
export function latencySeed(buckets: readonly HistoryBucket[], count: number): number[] {
  return buckets.flatMap((b) => (b.latencyMs.max === null ? [] : [b.latencyMs.max])).slice(-count);
}

/** "42 s", "5 min", "1 h 5 min", "2 d 3 h". */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 24) return min % 60 ? `${hours} h ${min % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/**
 * Incidents known so far merged with a newer answer's (the same incident is the same start),
 * newest first, without those that ended before `since`.
 */
export function mergeIncidents(known: readonly Incident[], fresh: readonly Incident[], since: number): Incident[] {
  const byStart = new Map<string, Incident>();
  for (const i of [...known, ...fresh]) byStart.set(i.startedAt, i);
  return [...byStart.values()].filter((i) => i.endedAt === null || Date.parse(i.endedAt) >= since).sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
}
