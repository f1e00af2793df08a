import type { Clock } from '../../shared/clock.js';
import { parseDuration } from '../../shared/duration.js';
import type { FleetTracker } from '../fleet/tracker.js';
import { mergeInto } from '../history/bucket.js';
import { bucketJson, coarsen, incidentJson, stepMinutes, uptime, UPTIME_WINDOWS } from '../history/derive.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { HistoryBucket, HistoryStore } from '../store/history-store.js';
import { HttpError, badRequest, sendJson } from './respond.js';
import type { Router } from './router.js';

export interface HistoryApiDeps {
  fleet: Pick<FleetTracker, 'state'>;
  store: Pick<HistoryStore, 'listBuckets' | 'listIncidents'>;
  recorder: Pick<HistoryRecorder, 'current'>;
  clock: Clock;
  /** `history.retention`: the longest range there can be data for */
  retention: number;
}

const MIN_RANGE_MS = 60_000;

/**
 * `GET /api/v1/services/:host/:service/history[?range=24h]` (viewer) → buckets over the
 * range (1-minute, merged into steps past 24 h), uptime over 24 h / 7 d / 30 d and the
 * incidents that touched the range (docs/http-api.md).
 */
export function registerHistoryRoutes(router: Router, deps: HistoryApiDeps): void {
  router.add('GET', '/api/v1/services/:host/:service/history', 'viewer', async ({ res, params, url }) => {
    const host = params.host!;
    const service = params.service!;
    const range = parseRange(url.searchParams.get('range'), deps.retention);
    const now = deps.clock.now();
    const longest = Math.max(range.ms, UPTIME_WINDOWS['30d']);
    const buckets = withCurrent(await deps.store.listBuckets(host, service, now - longest, now), deps.recorder.current(host, service));
    const known = deps.fleet.state.hosts.get(host)?.services.some((s) => s.name === service) === true;
    if (!known && buckets.length === 0) throw new HttpError(404, 'not_found', 'no such service and no history for it');
    const inRange = (b: HistoryBucket, ms: number) => b.minute + 60_000 > now - ms;
    const step = stepMinutes(range.ms);
    const incidents = await deps.store.listIncidents(host, service, now - range.ms);
    sendJson(res, 200, {
      host,
      service,
      range: range.text,
      stepMinutes: step,
      buckets: coarsen(buckets.filter((b) => inRange(b, range.ms)), step).map(bucketJson),
      uptime: Object.fromEntries(Object.entries(UPTIME_WINDOWS).map(([name, ms]) => [name, uptime(buckets.filter((b) => inRange(b, ms)))])),
      incidents: incidents.map((i) => incidentJson(i, now)),
    });
  });
}

function parseRange(text: string | null, retention: number): { ms: number; text: string } {
  if (text === null || text === '') return { ms: UPTIME_WINDOWS['24h'], text: '24h' };
  let ms: number | undefined;
  try {
    ms = parseDuration(text);
  } catch {
    ms = undefined;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < MIN_RANGE_MS || ms > Math.max(retention, UPTIME_WINDOWS['30d'])) {
    throw badRequest('range: expected a duration from 1m to history.retention, like 24h or 7d');
  }
  return { ms, text };
}

/** The stored minutes plus the one in progress (the same minute may be in both after a restart). */
function withCurrent(stored: HistoryBucket[], current: HistoryBucket | undefined): HistoryBucket[] {
  if (!current) return stored;
  const last = stored[stored.length - 1];
  if (last && last.minute === current.minute) {
    mergeInto(last, current);
    return stored;
  }
  return [...stored, current];
}
