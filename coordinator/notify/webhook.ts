import type { Notification } from '../alerts/types.js';
import { redactUrl } from '../../shared/logger.js';
import { commonAnnotations } from './format.js';
import { classifyHttpAnswer, postJson } from './http.js';
import type { Notifier, NotifierDeps } from './types.js';

/**
 * Generic webhook with Alertmanager's webhook body, version 4, so anything written for
 * Alertmanager receivers (alertmanager-discord, n8n, custom scripts) reads ours unchanged:
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 * Field order follows Alertmanager's Go structs (template.Data, then version, groupKey,
 * truncatedAlerts).
 */

/** What Alertmanager writes for a firing alert's endsAt: Go's zero time.Time. */
export const AM_ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

/** Pure: Alertmanager webhook v4 JSON for one notification (its alert sample, counted rest). */
export function buildWebhookMessage(n: Notification): WebhookMessage {
  const generatorURL = n.externalUrl;
  return {
    receiver: n.receiver,
    status: n.status,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? AM_ZERO_TIME,
      generatorURL,
      fingerprint: a.fingerprint,
    })),
    groupLabels: { ...n.groupLabels },
    commonLabels: { ...n.commonLabels },
    commonAnnotations: commonAnnotations(n.alerts),
    externalURL: n.externalUrl,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts,
  };
}

export interface WebhookOptions {
  name: string;
  url: string;
  timeoutMs: number;
  minIntervalMs?: number;
  /** e.g. Authorization; treated as secrets */
  headers?: Readonly<Record<string, string>>;
}

/** 2xx delivered; 408/425/429/5xx retried (Retry-After honoured); other 4xx final. */
export function createWebhookNotifier(opts: WebhookOptions, deps: NotifierDeps): Notifier<WebhookMessage> {
  const now = deps.now ?? Date.now;
  const secrets = { urls: [opts.url], values: Object.values(opts.headers ?? {}) };
  return {
    name: opts.name,
    type: 'webhook',
    minIntervalMs: opts.minIntervalMs ?? 0,
    timeoutMs: opts.timeoutMs,
    build: (n) => [buildWebhookMessage(n)],
    async deliver(message, signal) {
      const out = await postJson({ url: opts.url, body: message, headers: opts.headers, timeoutMs: opts.timeoutMs, signal, dispatcher: deps.dispatcher });
      return out.ok ? classifyHttpAnswer(out.answer, now(), secrets) : out.result;
    },
    describe: () => `webhook ${redactUrl(opts.url)}`,
  };
}
