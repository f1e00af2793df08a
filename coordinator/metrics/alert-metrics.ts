import { Counter, Gauge, type Registry } from 'prom-client';
import { labelValue } from '../../shared/metrics/labels.js';
import { ALERT_NAMES } from '../alerts/types.js';
import type { OutcomeHook } from '../delivery/worker.js';
import { DELIVERY_OUTCOMES } from '../store/outbox-store.js';

export interface AlertMetricsDeps {
  /** firing alerts by (alertname, firing | suppressed); undefined before the pipeline runs */
  alertCounts: () => ReadonlyMap<string, { firing: number; suppressed: number }> | undefined;
  /** configured receiver names: every one is listed, 0 included */
  receivers: readonly string[];
  /** undelivered notifications per receiver (the durable outbox) */
  pendingCounts: () => Promise<readonly { receiver: string; pending: number }[]>;
}

const ALERT_STATES = ['firing', 'suppressed'] as const;

/**
 * Alert and notification metrics. Alerts and queue depth are read at scrape time (the
 * pipeline's alert set, the outbox); message outcomes are counted as they happen, through the
 * delivery workers' outcome hook.
 */
export function registerAlertMetrics(registry: Registry, deps: AlertMetricsDeps): { onOutcome: OutcomeHook } {
  new Gauge({
    name: 'llm_health_alerts',
    help: 'Firing alerts by name: state "firing" notifies, "suppressed" is silenced or inhibited.',
    labelNames: ['alertname', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = deps.alertCounts();
      for (const name of new Set<string>([...ALERT_NAMES, ...(counts?.keys() ?? [])])) {
        const c = counts?.get(name);
        for (const state of ALERT_STATES) this.set({ alertname: labelValue(name), state }, c?.[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'llm_health_notifications_pending',
    help: 'Notifications in the durable outbox not yet delivered, per receiver (the delivery queue depth).',
    labelNames: ['receiver'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const receiver of deps.receivers) this.set({ receiver: labelValue(receiver) }, 0);
      // a receiver removed from the config keeps its rows: shown too, so the leftover is visible
      for (const { receiver, pending } of await deps.pendingCounts()) this.set({ receiver: labelValue(receiver) }, pending);
    },
  });
  const notifications = new Counter({
    name: 'llm_health_notifications_total',
    help: 'Notification message attempts per receiver and outcome: delivered, retry (will be tried again) or failed (given up).',
    labelNames: ['receiver', 'outcome'] as const,
    registers: [registry],
  });
  // at 0 from the start, so rate() and increase() see the first failure
  for (const receiver of deps.receivers) for (const outcome of DELIVERY_OUTCOMES) notifications.inc({ receiver: labelValue(receiver), outcome }, 0);
  return { onOutcome: (receiver, outcome) => notifications.inc({ receiver: labelValue(receiver), outcome }) };
}
