import { EVENT_TYPES } from '../../shared/protocol/constants.js';
import type { FleetTracker } from '../fleet/tracker.js';
import { MAX_EVENT_QUERY_LIMIT, type EventQuery, type EventStore } from '../store/event-store.js';
import { withoutEvidence } from './evidence.js';
import { badRequest, sendJson } from './respond.js';
import type { Router } from './router.js';

export interface ApiDeps {
  fleet: FleetTracker;
  events: Pick<EventStore, 'listEvents'>;
  /** coordinator facts for /healthz */
  health: () => { version: string; connectedAgents: number };
  /** `auth.evidenceWithoutToken`: serve restart evidence to callers without a token too */
  evidenceWithoutToken?: boolean;
}

/** Read-only JSON API, docs/http-api.md. Mutating routes (restarts, silences) register as `admin`. */
export function registerApiRoutes(router: Router, deps: ApiDeps): void {
  router
    .add('GET', '/healthz', 'public', ({ res }) => sendJson(res, 200, { status: 'ok', ...deps.health() }))
    .add('GET', '/api/v1/fleet', 'viewer', ({ res }) => sendJson(res, 200, deps.fleet.view()))
    .add('GET', '/api/v1/events', 'viewer', async ({ res, url, tokenHolder }) => {
      const events = await deps.events.listEvents(parseEventQuery(url.searchParams));
      // behind viewer tokens every caller here holds one; on an open API only a token shows evidence
      const withEvidence = tokenHolder || deps.evidenceWithoutToken === true;
      sendJson(res, 200, { events: withEvidence ? events : events.map(withoutEvidence) });
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
