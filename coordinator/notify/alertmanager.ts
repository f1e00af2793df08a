import type { Notification, NotificationAlert } from '../alerts/types.js';
import { redactUrl } from '../../shared/logger.js';
import { safeLink } from './format.js';
import { classifyHttpAnswer, postJson } from './http.js';
import type { Notifier, NotifierDeps } from './types.js';

/**
 * Forwards alerts to an existing Alertmanager (`POST /api/v2/alerts`,
 * https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml `postableAlerts`).
 * Alertmanager groups, silences and routes on its own, so it gets every alert of the group,
 * not the bounded sample a chat message shows; `endsAt` is set only on resolved alerts, as
 * Prometheus does. A firing alert with no endsAt is resolved by Alertmanager after its
 * `resolve_timeout` (5m by default) unless it is sent again.
 */

/** Alerts per POST: keeps each request body far below Alertmanager's and proxies' limits. */
export const AM_MAX_ALERTS_PER_POST = 500;

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export type AlertmanagerMessage = PostableAlert[];

/**
 * A notification may carry the whole group in `allAlerts` (the alert pipeline adds it for
 * alertmanager receivers); without it, the sample in `alerts` is what is forwarded.
 */
export type ForwardableNotification = Notification & { allAlerts?: readonly NotificationAlert[] };

/** Pure: every alert of the group as postable alerts, in POSTs of at most AM_MAX_ALERTS_PER_POST. */
export function buildAlertmanagerMessages(n: ForwardableNotification): AlertmanagerMessage[] {
  const generatorURL = safeLink(n.externalUrl);
  const alerts = (n.allAlerts ?? n.alerts).map((a): PostableAlert => {
    // Alertmanager drops empty label values anyway; sending none keeps fingerprints equal.
    const labels = Object.fromEntries(Object.entries(a.labels).filter(([, v]) => v !== ''));
    const annotations = Object.fromEntries(Object.entries(a.annotations).filter(([, v]) => v !== ''));
    return {
      labels,
      annotations,
      startsAt: a.startsAt,
      ...(a.status === 'resolved' && a.endsAt ? { endsAt: a.endsAt } : {}),
      ...(generatorURL ? { generatorURL } : {}),
    };
  });
  const out: AlertmanagerMessage[] = [];
  for (let i = 0; i < alerts.length; i += AM_MAX_ALERTS_PER_POST) out.push(alerts.slice(i, i + AM_MAX_ALERTS_PER_POST));
  return out;
}

/** `http://am:9093` or `http://am:9093/prefix` (its --web.route-prefix), or the full endpoint. */
export function alertmanagerEndpoint(url: string): string {
  const base = url.replace(/\/+$/, '');
  return /\/api\/v2\/alerts$/.test(base) ? base : `${base}/api/v2/alerts`;
}

export interface AlertmanagerOptions {
  name: string;
  url: string;
  timeoutMs: number;
  minIntervalMs?: number;
  headers?: Readonly<Record<string, string>>;
}

export function createAlertmanagerNotifier(opts: AlertmanagerOptions, deps: NotifierDeps): Notifier<AlertmanagerMessage> {
  const now = deps.now ?? Date.now;
  const endpoint = alertmanagerEndpoint(opts.url);
  const secrets = { urls: [opts.url, endpoint], values: Object.values(opts.headers ?? {}) };
  return {
    name: opts.name,
    type: 'alertmanager',
    minIntervalMs: opts.minIntervalMs ?? 0,
    timeoutMs: opts.timeoutMs,
    build: buildAlertmanagerMessages,
    async deliver(message, signal) {
      const out = await postJson({ url: endpoint, body: message, headers: opts.headers, timeoutMs: opts.timeoutMs, signal, dispatcher: deps.dispatcher });
      // 400 means Alertmanager refused the alerts (bad labels, endsAt before startsAt): final.
      return out.ok ? classifyHttpAnswer(out.answer, now(), secrets) : out.result;
    },
    describe: () => `alertmanager ${redactUrl(endpoint)}`,
  };
}
