/**
 * Alert pipeline contracts (docs/states-and-alerts.md), in the spirit of Prometheus Alertmanager: rules turn
 * fleet state into alerts; stages (silence → inhibit → group → route → dedup) turn alerts
 * into notifications; notifiers (coordinator/notify/) turn notifications into messages.
 * Times are epoch milliseconds inside the coordinator and ISO 8601 on the wire.
 */

export const ALERT_NAMES = ['LLMServiceDown', 'LLMServiceDegraded', 'LLMRestartFailed', 'LLMRestartLoop', 'LLMAgentOffline', 'LLMAgentDuplicateId', 'LLMGpuUnhealthy', 'LLMSlowInference'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export type Severity = 'critical' | 'warning';

export type Labels = Readonly<Record<string, string>>;

export interface Alert {
  /** stable hash of the sorted labels (see fingerprint()) */
  readonly fingerprint: string;
  /** always alertname, host, severity; service where it applies; plus the agent's labels */
  readonly labels: Labels;
  readonly annotations: Readonly<{ summary: string; description: string }>;
  readonly startsAt: number;
  /** null while firing; the resolve time once resolved */
  readonly endsAt: number | null;
  readonly updatedAt: number;
}

/**
 * What the rules want firing now (rules.ts). The alert set (alert-set.ts) gives it a
 * lifetime: startsAt, endsAt, updatedAt.
 */
export interface DesiredAlert {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly annotations: Readonly<{ summary: string; description: string }>;
}

/** `=`, `!=`, `=~`, `!~` on one label, as Alertmanager matchers. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  /** a future start is a maintenance window */
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
  updatedAt: number;
}

/** Why an alert does not notify (GET /api/v1/alerts shows it). */
export type Suppression =
  | { kind: 'silenced'; silenceIds: string[] }
  | { kind: 'inhibited'; by: string[] /* fingerprints of the inhibiting alerts */ }
  | { kind: 'maintenance'; host: string; until: string; by: string; comment: string };

export interface AlertStatusView {
  alert: Alert;
  state: 'firing' | 'resolved' | 'suppressed';
  suppressedBy: Suppression[];
}

/** One alert inside a notification, as receivers see it. */
export interface NotificationAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  startsAt: string;
  /** ISO time; null while firing */
  endsAt: string | null;
}

/**
 * One notification for one receiver and one aggregation group. Large groups carry a
 * bounded sample of alerts plus exact counts, so every notifier stays within its
 * provider's size limits whatever the group size.
 */
export interface Notification {
  /** unique id of this notification (outbox key) */
  id: string;
  receiver: string;
  /** stable key of the aggregation group for this receiver: dedup/notification-log key */
  groupKey: string;
  groupLabels: Record<string, string>;
  /** labels every alert of the group shares */
  commonLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  firingCount: number;
  resolvedCount: number;
  /** firing first, then resolved; at most MAX_SAMPLE_ALERTS */
  alerts: NotificationAlert[];
  /** alerts of the group not included in `alerts` */
  truncatedAlerts: number;
  /** dashboard URL, for links */
  externalUrl: string;
  createdAt: string;
}

/** Alerts carried in one notification; the rest are counted (Alertmanager sent 13 MB bodies). */
export const MAX_SAMPLE_ALERTS = 50;

/**
 * What the dedup stage compares against: the last notification sent per (receiver, groupKey).
 * Also rewritten without a message (the dispatcher's `updateLog`) when alerts the receiver
 * was told are firing stop counting as firing and nothing is sent about it (resolved while
 * the receiver has `sendResolved: false`, or suppressed): then `firing` shrinks to what is
 * still firing and `resolved`/`sentAt` stay those of the last sent notification, so a later
 * re-fire is news again.
 */
export interface NotificationLogEntry {
  receiver: string;
  groupKey: string;
  /** fingerprints that were firing in the last sent notification */
  firing: string[];
  /** fingerprints that were resolved in the last sent notification */
  resolved: string[];
  /** when the last notification was sent (repeatInterval counts from here) */
  sentAt: number;
}
