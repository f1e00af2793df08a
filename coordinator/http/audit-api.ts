import type { AuditEntry, AuditQuery, AuditStore } from '../store/audit-store.js';
import { parseSince } from './api.js';
import { badRequest, sendJson } from './respond.js';
import type { Router } from './router.js';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;
const ACTION_PATTERN = /^[a-z][a-z0-9_.]{0,63}\*?$/;

/**
 * `GET /api/v1/audit?since=&limit=&action=` (admin only: the log names token holders and
 * their addresses): the audit log, newest first (docs/http-api.md).
 */
export function registerAuditRoutes(router: Router, deps: { store: Pick<AuditStore, 'listAudit'> }): void {
  router.add('GET', '/api/v1/audit', 'admin', async ({ res, url }) => {
    const entries = await deps.store.listAudit(parseQuery(url.searchParams));
    sendJson(res, 200, { entries: entries.map(auditView) });
  });
}

function parseQuery(params: URLSearchParams): AuditQuery {
  const raw = params.get('limit');
  const limit = raw === null ? DEFAULT_AUDIT_LIMIT : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) throw badRequest(`limit: expected an integer from 1 to ${MAX_AUDIT_LIMIT}`);
  const query: AuditQuery = { limit };
  const since = params.get('since');
  if (since !== null && since !== '') {
    const ms = parseSince(since);
    if (ms === undefined) throw badRequest('since: expected an ISO 8601 time like 2026-01-01T00:00:00Z or epoch milliseconds');
    query.since = ms;
  }
  const action = params.get('action');
  if (action !== null && action !== '') {
    if (!ACTION_PATTERN.test(action)) throw badRequest('action: expected an action name such as restart.create, or a prefix ending in * (restart.*)');
    query.action = action;
  }
  return query;
}

export function auditView(e: AuditEntry): Record<string, unknown> {
  return { id: e.id, at: new Date(e.at).toISOString(), actor: e.actor, remote: e.remote, action: e.action, target: e.target, outcome: e.outcome, status: e.status, detail: e.detail };
}
