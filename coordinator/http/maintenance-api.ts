import type { Clock } from '../../shared/clock.js';
import { parseDuration } from '../../shared/duration.js';
import type { FleetState } from '../fleet/types.js';
import type { MaintenanceBook } from '../maintenance/book.js';
import { parseSince } from './api.js';
import { badRequest, HttpError, sendJson } from './respond.js';
import type { Router } from './router.js';
import { readJsonBody } from './silences-api.js';

const MAX_BODY_BYTES = 16 * 1024;
const MAX_COMMENT_LENGTH = 1000;

export interface MaintenanceApiDeps {
  book: Pick<MaintenanceBook, 'start' | 'end' | 'view'>;
  fleet: { readonly state: FleetState };
  clock: Clock;
  /** the longest window accepted (silences.maxDuration: a forgotten window is an outage nobody hears about) */
  maxDuration: number;
}

/**
 * `POST /api/v1/hosts/:id/maintenance { until | for, comment }` and `DELETE` (admin): the
 * host keeps being probed and shown, its automatic restarts pause, its alerts are muted and
 * restart jobs skip it unless asked (docs/http-api.md). A window always has an end.
 */
export function registerMaintenanceRoutes(router: Router, deps: MaintenanceApiDeps): void {
  router
    .add('POST', '/api/v1/hosts/:id/maintenance', 'admin', async ({ req, res, params, actor, audit }) => {
      const host = knownHost(deps, params.id!);
      const now = deps.clock.now();
      const { until, comment } = parseBody(await readJsonBody(req, MAX_BODY_BYTES), now, deps.maxDuration);
      audit.detail = { until: new Date(until).toISOString(), comment };
      await deps.book.start({ host, since: now, until, comment, by: actor ?? 'admin' });
      sendJson(res, 200, { host, maintenance: deps.book.view(host) });
    }, 'maintenance.on')
    .add('DELETE', '/api/v1/hosts/:id/maintenance', 'admin', async ({ res, params }) => {
      const host = params.id!;
      if (!(await deps.book.end(host))) throw new HttpError(404, 'not_found', `host ${JSON.stringify(host.slice(0, 128))} is not in maintenance`);
      sendJson(res, 200, { host, maintenance: null });
    }, 'maintenance.off');
}

function knownHost(deps: MaintenanceApiDeps, id: string): string {
  if (!deps.fleet.state.hosts.has(id)) throw new HttpError(404, 'not_found', `no host ${JSON.stringify(id.slice(0, 128))}`);
  return id;
}

function parseBody(body: unknown, now: number, maxDuration: number): { until: number; comment: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: expected a JSON object');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!['until', 'for', 'comment'].includes(key)) throw badRequest(`${key}: unknown field`);
  if ((b.until === undefined) === (b.for === undefined)) throw badRequest('give exactly one of until (a time) or for (a duration such as 2h)');
  let until: number | undefined;
  if (b.for !== undefined) {
    const ms = parseDuration(b.for);
    if (ms === undefined || ms <= 0) throw badRequest('for: expected a duration such as 2h');
    until = now + ms;
  } else {
    until = typeof b.until === 'string' ? parseSince(b.until) : undefined;
    if (until === undefined) throw badRequest('until: expected an ISO 8601 time like 2026-03-01T18:00:00Z');
    if (until <= now) throw badRequest('until: must be in the future');
  }
  if (until - now > maxDuration) throw badRequest(`the window may last at most ${Math.round(maxDuration / 3_600_000)}h (silences.maxDuration)`);
  if (b.comment !== undefined && (typeof b.comment !== 'string' || b.comment.length > MAX_COMMENT_LENGTH)) throw badRequest(`comment: expected a string of at most ${MAX_COMMENT_LENGTH} characters`);
  return { until, comment: (b.comment as string | undefined) ?? '' };
}
