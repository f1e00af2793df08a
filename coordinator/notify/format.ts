import type { Notification, NotificationAlert } from '../alerts/types.js';

/** Text every receiver shares: the title, alert one-liners, bounded strings. Pure. */

/**
 * Alertmanager's default title (`__subject` in its default.tmpl): `[FIRING:12]` or
 * `[RESOLVED]`, then the group labels — the alert name's value first, the others as
 * `name=value` in name order, e.g. `[FIRING:12] LLMServiceDown service=qwen-vl`.
 */
export function notificationTitle(n: Notification): string {
  const status = n.status === 'firing' ? `FIRING:${n.firingCount}` : 'RESOLVED';
  const labels = groupLabelsText(n);
  return labels ? `[${status}] ${labels}` : `[${status}]`;
}

export function groupLabelsText(n: Pick<Notification, 'groupLabels' | 'commonLabels'>): string {
  const g = n.groupLabels;
  const parts: string[] = [];
  // Grouped by something else (host, say) but all one alert: still say which.
  const alertname = g.alertname ?? n.commonLabels.alertname;
  if (alertname) parts.push(alertname);
  for (const k of Object.keys(g).sort()) if (k !== 'alertname') parts.push(`${k}=${g[k]}`);
  return oneLine(parts.join(' '));
}

/** `gpu-1 / qwen-vl`, or just the host for host-wide alerts. */
export function alertTarget(a: NotificationAlert): string {
  const host = a.labels.host ?? a.labels.instance ?? '?';
  return a.labels.service ? `${host} / ${a.labels.service}` : host;
}

/** The alert name, when the group holds more than one kind of alert. */
export function alertNameIfMixed(n: Notification, a: NotificationAlert): string | undefined {
  return n.commonLabels.alertname === undefined ? a.labels.alertname : undefined;
}

/** `since 2024-…Z` for firing alerts, `resolved 2024-…Z` for resolved ones. */
export function alertWhen(a: NotificationAlert): string {
  return a.status === 'resolved' && a.endsAt ? `resolved ${a.endsAt}` : `since ${a.startsAt}`;
}

/** Alerts of the group that a message does not list (the unsent sample plus the truncated rest). */
export function moreCount(n: Notification, listed: number): number {
  return Math.max(0, n.alerts.length - listed) + Math.max(0, n.truncatedAlerts);
}

export function countsText(n: Notification): string {
  return `${n.firingCount} firing, ${n.resolvedCount} resolved`;
}

/**
 * Cuts `s` to at most `max` UTF-16 code units, ending with `…` when cut. Providers count
 * characters (code points) or bytes of UTF-16; code units are never fewer, so the result
 * fits either count. A surrogate pair is never split.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  let end = max - 1;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${s.slice(0, end)}…`;
}

/** Collapses newlines and runs of whitespace (titles, subjects, single-line fields). */
export function oneLine(s: string): string {
  return s.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Only http(s) links are offered to providers (Discord rejects others, and so should we). */
export function safeLink(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** Annotations with the same value on every alert (Alertmanager's CommonAnnotations). */
export function commonAnnotations(alerts: readonly NotificationAlert[]): Record<string, string> {
  if (alerts.length === 0) return {};
  const first = alerts[0]!.annotations as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) {
    if (alerts.every((a) => (a.annotations as Record<string, string>)[k] === v)) out[k] = v;
  }
  return out;
}
