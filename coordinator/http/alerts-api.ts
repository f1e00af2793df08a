import type { AlertStatusView, Suppression } from '../alerts/types.js';
import { DEFAULT_DELIVERY_QUERY_LIMIT, MAX_DELIVERY_QUERY_LIMIT, type OutboxStore, type OutboxSummary } from '../store/outbox-store.js';
import { badRequest, sendJson } from './respond.js';
import type { Router } from './router.js';

/** What a delivery worker is doing, per receiver (DeliveryService.status()). */
export interface ReceiverDeliveryStatus {
  receiver: string;
  type: string;
  /** where it sends, without secrets */
  target: string;
  state: string;
  nextAttemptAt: number | null;
  lastError: string | null;
}

export interface AlertApiDeps {
  /** the alert pipeline's current view: active alerts, and resolved ones it still holds */
  alerts: () => readonly AlertStatusView[];
  store: Pick<OutboxStore, 'listDeliveries' | 'listOutbox'>;
  /** per-receiver delivery state; omitted from the answer when absent */
  receivers?: () => readonly ReceiverDeliveryStatus[];
}

export interface AlertJson {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  state: AlertStatusView['state'];
  suppressedBy: Suppression[];
  startsAt: string;
  endsAt: string | null;
}

const ALERT_STATES = ['firing', 'suppressed', 'resolved'] as const;
const MAX_RECEIVER_LENGTH = 128;

/**
 * `GET /api/v1/alerts[?state=firing|suppressed|resolved]` → `{ alerts: [...] }`, oldest
 * first; `GET /api/v1/notifications[?receiver=&limit=]` → what the delivery workers are
 * doing, the notifications not delivered (pending or failed) and the latest delivery log
 * lines, for operators asking "did the page go out?". Both for viewers.
 */
export function registerAlertRoutes(router: Router, deps: AlertApiDeps): void {
  router
    .add('GET', '/api/v1/alerts', 'viewer', ({ res, url }) => {
      const state = url.searchParams.get('state');
      if (state !== null && state !== '' && !(ALERT_STATES as readonly string[]).includes(state)) throw badRequest(`state: expected one of ${ALERT_STATES.join(', ')}`);
      const alerts = deps
        .alerts()
        .filter((a) => !state || a.state === state)
        .map(alertJson)
        .sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint));
      sendJson(res, 200, { alerts });
    })
    .add('GET', '/api/v1/notifications', 'viewer', async ({ res, url }) => {
      const receiver = url.searchParams.get('receiver') || undefined;
      if (receiver !== undefined && receiver.length > MAX_RECEIVER_LENGTH) throw badRequest(`receiver: at most ${MAX_RECEIVER_LENGTH} characters`);
      const limit = parseLimit(url.searchParams.get('limit'));
      const query = { ...(receiver !== undefined ? { receiver } : {}), limit };
      const [pending, failed, deliveries] = await Promise.all([
        deps.store.listOutbox({ ...query, state: 'pending' }),
        deps.store.listOutbox({ ...query, state: 'failed' }),
        deps.store.listDeliveries(query),
      ]);
      const outbox = [...pending, ...failed].sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
      sendJson(res, 200, {
        ...(deps.receivers
          ? {
              receivers: deps
                .receivers()
                .filter((r) => receiver === undefined || r.receiver === receiver)
                .map((r) => ({ ...r, nextAttemptAt: isoOrNull(r.nextAttemptAt) })),
            }
          : {}),
        outbox: outbox.map(outboxJson),
        deliveries: deliveries.map((d) => ({ ...d, at: iso(d.at) })),
      });
    });
}

export function alertJson(v: AlertStatusView): AlertJson {
  const a = v.alert;
  return {
    fingerprint: a.fingerprint,
    labels: { ...a.labels },
    annotations: { summary: a.annotations.summary, description: a.annotations.description },
    state: v.state,
    suppressedBy: v.suppressedBy,
    startsAt: iso(a.startsAt),
    endsAt: isoOrNull(a.endsAt),
  };
}

function outboxJson(o: OutboxSummary) {
  return { ...o, nextAttemptAt: iso(o.nextAttemptAt), createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt) };
}

function parseLimit(v: string | null): number {
  if (v === null || v === '') return DEFAULT_DELIVERY_QUERY_LIMIT;
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > MAX_DELIVERY_QUERY_LIMIT) throw badRequest(`limit: expected an integer from 1 to ${MAX_DELIVERY_QUERY_LIMIT}`);
  return Number(v);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
