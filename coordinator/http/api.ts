import { EVENT_TYPES } from '../../shared/protocol/constants.js';
import type { FleetTracker } from '../fleet/tracker.js';
import { MAX_EVENT_QUERY_LIMIT, type EventCursor, type EventQuery, type EventStore } from '../store/event-store.js';
import type { StoreHealth } from '../store/write-health.js';
import { withoutEvidence } from './evidence.js';
import { badRequest, sendJson } from './respond.js';
import type { Router } from './router.js';

export interface ApiDeps {
  fleet: FleetTracker;
  events: Pick<EventStore, 'pageEvents'>;
  /** coordinator facts for /healthz */
  health: () => { version: string; connectedAgents: number };
  /** `auth.evidenceWithoutToken`: serve restart evidence to callers without a token too */
  evidenceWithoutToken?: boolean;
  /** whether the store takes writes (/healthz, /readyz) */
  storeWritable: () => Promise<StoreHealth>;
  /** whether the listener accepts connections and is not shutting down (/readyz) */
  listening: () => boolean;
}

/** Read-only JSON API, docs/http-api.md. Mutating routes (restarts, silences) register as `admin`. */
export function registerApiRoutes(router: Router, deps: ApiDeps): void {
  router
    .add('GET', '/healthz', 'public', async ({ res }) => {
      const store = await deps.storeWritable();
      sendJson(res, store.ok ? 200 : 503, { status: store.ok ? 'ok' : 'degraded', ...deps.health(), checks: { store } });
    })
    .add('GET', '/readyz', 'public', async ({ res }) => {
      const checks = { store: await deps.storeWritable(), listener: { ok: deps.listening() } };
      const ready = checks.store.ok && checks.listener.ok;
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks });
    })
    .add('GET', '/api/v1/fleet', 'viewer', ({ res }) => sendJson(res, 200, deps.fleet.view()))
    .add('GET', '/api/v1/events', 'viewer', async ({ res, url, tokenHolder }) => {
      const page = await deps.events.pageEvents(parseEventQuery(url.searchParams));
      // behind viewer tokens every caller here holds one; on an open API only a token shows evidence
      const withEvidence = tokenHolder || deps.evidenceWithoutToken === true;
      sendJson(res, 200, { events: withEvidence ? page.events : page.events.map(withoutEvidence), next: page.next && formatCursor(page.next) });
    });
}

const MAX_FILTER_LENGTH = 128;

export function parseEventQuery(params: URLSearchParams): EventQuery {
  const query: EventQuery = {};
  for (const key of ['host', 'service', 'type'] as const) {
    const value = params.get(key);
    if (value === null || value === '') continue;
    if (value.length > MAX_FILTER_LENGTH) throw badRequest(`${key}: at most ${MAX_FILTER_LENGTH} characters`);
    query[key] = value;
  }
  if (query.type !== undefined && !(EVENT_TYPES as readonly string[]).includes(query.type)) {
    throw badRequest(`type: expected one of ${EVENT_TYPES.join(', ')}`);
  }
  const since = params.get('since');
  if (since !== null && since !== '') {
    const ms = parseSince(since);
    if (ms === undefined) throw badRequest('since: expected an ISO 8601 time like 2026-01-01T00:00:00Z or epoch milliseconds');
    query.since = ms;
  }
  const after = params.get('after');
  if (after !== null && after !== '') {
    const cursor = parseCursor(after);
    if (cursor === undefined) throw badRequest('after: expected the `next` of an earlier answer');
    query.after = cursor;
  }
  const limit = params.get('limit');
  if (limit !== null && limit !== '') {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_EVENT_QUERY_LIMIT) {
      throw badRequest(`limit: expected an integer from 1 to ${MAX_EVENT_QUERY_LIMIT}`);
    }
    query.limit = Number(limit);
  }
  return query;
}

/** ISO 8601 (date, or date and time) or integer epoch milliseconds. */
export function parseSince(text: string): number | undefined {
  if (/^\d{1,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `next` in an events answer: opaque to clients, `<receivedAt>-<id>` inside. */
export function formatCursor(cursor: EventCursor): string {
  return `${cursor.receivedAt}-${cursor.id}`;
}

export function parseCursor(text: string): EventCursor | undefined {
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(text);
  return m ? { receivedAt: Number(m[1]), id: Number(m[2]) } : undefined;
}
