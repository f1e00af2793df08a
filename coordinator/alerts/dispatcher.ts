import { nanoid } from 'nanoid';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import { LABEL_NAME_PATTERN, matchersFromMap, matches, validateMatcher } from './matchers.js';
import { MAX_SAMPLE_ALERTS, type Alert, type Labels, type Matcher, type Notification, type NotificationAlert, type NotificationLogEntry } from './types.js';

/**
 * Aggregation groups, routing and dedup (docs/states-and-alerts.md; Alertmanager's dispatch/group.go and
 * notify DedupStage). Alerts are routed to every receiver whose matchers match, grouped per
 * receiver by the `groupBy` labels, and each group flushes after `groupWait`, then every
 * `groupInterval`, on ONE timer per group. A flush reads the clock once and uses that "now"
 * throughout; it leaves out muted (silenced or inhibited) firing alerts, compares what is
 * left with the notification log, and emits at most one notification.
 *
 * Dedup (`needsUpdate`), against the log entry of (receiver, groupKey):
 * - nothing sent before → send if anything is firing;
 * - a firing fingerprint the last notification did not have as firing → send;
 * - nothing firing, some announced alerts resolved → send resolved if `sendResolved`,
 *   otherwise only rewrite the log (`updateLog`) so a re-fire is news again;
 * - `sendResolved` and the announced-resolved set grew → send;
 * - still firing and `repeatInterval` passed since `sentAt` → send again;
 * - fewer alerts firing than the receiver was told (resolved without telling it) → rewrite
 *   the log only;
 * - else nothing.
 * Only alerts the receiver was told are firing are ever reported resolved: an alert that
 * fires and resolves between two flushes (inside groupWait, or a flap) sends nothing.
 *
 * Suppression (silenced or inhibited) is a pause: a suppressed firing alert is left out of
 * notifications and counts as not firing for its groups, but an alert the receiver was
 * already told about stays in the log's `firing` (the receiver still believes it firing),
 * so that when it resolves, suppressed or not, the receiver is told (with sendResolved);
 * and when the suppression ends while it still fires, it is news again and sent at the next
 * flush (a silence that expires on a problem still there pages). The "was suppressed since
 * the last notification" mark lives in the group, in memory.
 *
 * Cost: per ingested alert version O(receivers); per flush O(group size) with no copy of
 * the group beyond the fingerprint lists the log needs and a sample of MAX_SAMPLE_ALERTS.
 */

/** `groupBy: ['...']`: group by all labels (one group per alert), as Alertmanager. */
export const GROUP_BY_ALL = '...';

export interface ReceiverRoute {
  name: string;
  /** docs/states-and-alerts.md `match`: label → value equality; or parsed matchers; absent matches everything */
  match?: Readonly<Record<string, string>> | readonly Matcher[];
  sendResolved: boolean;
}

export interface DispatcherConfig {
  groupBy: readonly string[];
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  receivers: readonly ReceiverRoute[];
  /** dashboard URL, copied into notifications */
  externalUrl: string;
}

/** Called once per flush with that flush's now; the returned function says whether a firing alert is muted. */
export type MuterFactory = (now: number) => (alert: Alert) => boolean;

export interface DispatcherDeps {
  clock: Clock;
  config: DispatcherConfig;
  /** the last log entry for (receiver, groupKey) (from the store) */
  getLogEntry(receiver: string, groupKey: string): NotificationLogEntry | undefined;
  /** persist the log entry and queue the notification, in one transaction */
  emit(notification: Notification, entry: NotificationLogEntry): void;
  /** persist a log entry that changed without a notification; without it the log keeps the last sent set (Alertmanager's behaviour) */
  updateLog?(entry: NotificationLogEntry): void;
  /** silences + inhibition; absent: nothing is muted */
  muter?: MuterFactory;
  /** notification ids; default nanoid() */
  newId?: () => string;
  /** a flush that threw (getLogEntry/emit); the group is kept and retried at its next flush */
  onError?: (err: unknown, where: { receiver: string; groupKey: string }) => void;
}

export type FlushDecision = 'send' | 'log' | 'none';

/**
 * Dedup (see the module comment). `firing`: unsuppressed firing fingerprints; `resolved`:
 * announced alerts (in entry.firing) now resolved; `opts.suppressed`: how many announced
 * alerts are firing but suppressed now (the receiver still believes them firing);
 * `known`: the fingerprints the receiver knows as firing (default entry.firing; the
 * dispatcher removes those whose suppression just ended, which makes them news).
 */
export function needsUpdate(
  entry: NotificationLogEntry | undefined,
  firing: readonly string[],
  resolved: readonly string[],
  opts: { sendResolved: boolean; repeatInterval: number; now: number; suppressed?: number },
  known: ReadonlySet<string> = new Set(entry?.firing ?? []),
): FlushDecision {
  if (!entry) return firing.length > 0 ? 'send' : 'none';
  for (const fp of firing) if (!known.has(fp)) return 'send';
  if (firing.length === 0 && resolved.length > 0) return opts.sendResolved ? 'send' : 'log';
  if (opts.sendResolved && resolved.length > 0) {
    const prevResolved = new Set(entry.resolved);
    for (const fp of resolved) if (!prevResolved.has(fp)) return 'send';
  }
  if (firing.length > 0 && opts.now - entry.sentAt >= opts.repeatInterval) return 'send';
  if (firing.length + (opts.suppressed ?? 0) < entry.firing.length) return 'log';
  return 'none';
}

interface CompiledReceiver {
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly sendResolved: boolean;
}

class Group {
  readonly alerts = new Map<string, Alert>();
  /** announced alerts suppressed at a flush since they were last sent: news again once unsuppressed */
  readonly paused = new Set<string>();
  timer: TimerHandle | undefined;
  constructor(
    readonly key: string,
    readonly receiver: CompiledReceiver,
    readonly labels: Readonly<Record<string, string>>,
  ) {}
}

export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  private readonly receivers: readonly CompiledReceiver[];
  private readonly groupAll: boolean;
  private stopped = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.receivers = validateConfig(deps.config);
    this.groupAll = deps.config.groupBy.includes(GROUP_BY_ALL);
  }

  /** New versions of alerts (from ActiveAlerts.update): routed, grouped; a resolved alert never opens a group. */
  ingest(alerts: Iterable<Alert>): void {
    if (this.stopped) return;
    for (const alert of alerts) {
      let groupLabels: Record<string, string> | undefined;
      let labelsKey = '';
      for (const r of this.receivers) {
        if (!matches(r.matchers, alert.labels)) continue;
        if (!groupLabels) {
          groupLabels = this.groupLabelsOf(alert.labels);
          labelsKey = JSON.stringify(groupLabels);
        }
        const key = `${r.name}:${labelsKey}`;
        let g = this.groups.get(key);
        if (!g) {
          if (alert.endsAt !== null) continue;
          g = new Group(key, r, groupLabels);
          this.groups.set(key, g);
          this.schedule(g, this.deps.config.groupWait);
        }
        g.alerts.set(alert.fingerprint, alert);
      }
    }
  }

  /** Group keys and sizes, for tests and metrics. */
  groupSizes(): Map<string, number> {
    return new Map([...this.groups].map(([k, g]) => [k, g.alerts.size]));
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /** Cancels every group timer; idempotent. Nothing is flushed. */
  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) this.deps.clock.clearTimeout(g.timer);
    this.groups.clear();
  }

  private schedule(g: Group, ms: number): void {
    g.timer = this.deps.clock.setTimeout(() => this.flush(g), ms);
  }

  private groupLabelsOf(labels: Labels): Record<string, string> {
    const names = this.groupAll ? Object.keys(labels) : this.deps.config.groupBy.filter((n) => labels[n] !== undefined);
    const out: Record<string, string> = {};
    for (const n of names.sort()) out[n] = labels[n]!;
    return out;
  }

  private flush(g: Group): void {
    g.timer = undefined;
    if (this.stopped || this.groups.get(g.key) !== g) return;
    const now = this.deps.clock.now(); // the one "now" of this flush
    const r = g.receiver;
    try {
      const mute = this.deps.muter?.(now);
      const entry = this.deps.getLogEntry(r.name, g.key);
      const prevFiring = new Set(entry?.firing ?? []);

      // One pass: fingerprints for the log, a sample and common labels for the message.
      const firing: string[] = [];
      const resolved: string[] = [];
      /** announced, firing, suppressed now: still believed firing by the receiver */
      const suppressed: string[] = [];
      let known: Set<string> = prevFiring;
      const firingSample: Alert[] = [];
      const resolvedSample: Alert[] = [];
      let commonFiring: Map<string, string> | null = null;
      let commonResolved: Map<string, string> | null = null;
      for (const a of g.alerts.values()) {
        const fp = a.fingerprint;
        if (a.endsAt === null) {
          if (mute?.(a)) {
            if (prevFiring.has(fp)) {
              suppressed.push(fp);
              g.paused.add(fp);
            }
            continue;
          }
          firing.push(fp);
          if (g.paused.has(fp) && prevFiring.has(fp)) {
            if (known === prevFiring) known = new Set(prevFiring);
            known.delete(fp); // its suppression ended: news again
          }
          if (firingSample.length < MAX_SAMPLE_ALERTS) firingSample.push(a);
          commonFiring = intersect(commonFiring, a.labels);
        } else if (prevFiring.has(fp)) {
          resolved.push(fp);
          if (resolvedSample.length < MAX_SAMPLE_ALERTS) resolvedSample.push(a);
          commonResolved = intersect(commonResolved, a.labels);
        }
      }

      const decision = needsUpdate(entry, firing, resolved, { sendResolved: r.sendResolved, repeatInterval: this.deps.config.repeatInterval, now, suppressed: suppressed.length }, known);
      if (decision === 'send') {
        const withResolved = r.sendResolved;
        const sample = [...firingSample.sort(byStart), ...(withResolved ? resolvedSample.sort(byStart) : [])].slice(0, MAX_SAMPLE_ALERTS);
        const common = withResolved ? mergeCommon(commonFiring, commonResolved) : (commonFiring ?? new Map<string, string>());
        const resolvedCount = withResolved ? resolved.length : 0;
        const notification: Notification = {
          id: (this.deps.newId ?? nanoid)(),
          receiver: r.name,
          groupKey: g.key,
          groupLabels: { ...g.labels },
          commonLabels: Object.fromEntries([...common].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
          status: firing.length > 0 ? 'firing' : 'resolved',
          firingCount: firing.length,
          resolvedCount,
          alerts: sample.map(toNotificationAlert),
          truncatedAlerts: firing.length + resolvedCount - sample.length,
          externalUrl: this.deps.config.externalUrl,
          createdAt: new Date(now).toISOString(),
        };
        this.deps.emit(notification, { receiver: r.name, groupKey: g.key, firing: suppressed.length ? firing.concat(suppressed) : firing, resolved: withResolved ? resolved : [], sentAt: now });
        for (const fp of firing) g.paused.delete(fp);
      } else if (decision === 'log' && entry) {
        this.deps.updateLog?.({ receiver: r.name, groupKey: g.key, firing: suppressed.length ? firing.concat(suppressed) : firing, resolved: entry.resolved, sentAt: entry.sentAt });
      }
      // Resolved alerts are done with: told, or never told and never to be.
      for (const [fp, a] of g.alerts) {
        if (a.endsAt === null) continue;
        g.alerts.delete(fp);
        g.paused.delete(fp);
      }
    } catch (err) {
      this.deps.onError?.(err, { receiver: r.name, groupKey: g.key });
    }
    if (g.alerts.size === 0) this.groups.delete(g.key);
    else this.schedule(g, this.deps.config.groupInterval);
  }
}

/** Validates the config (precise TypeErrors, ws-style) and compiles receiver matchers. */
function validateConfig(c: DispatcherConfig): CompiledReceiver[] {
  for (const k of ['groupWait', 'groupInterval', 'repeatInterval'] as const) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k !== 'groupWait' && v === 0)) throw new TypeError(`alerts.${k} must be a ${k === 'groupWait' ? 'non-negative' : 'positive'} number of milliseconds (got ${String(v)})`);
  }
  if (c.groupBy.includes(GROUP_BY_ALL) && c.groupBy.length > 1) throw new TypeError(`alerts.groupBy: '${GROUP_BY_ALL}' (all labels) cannot be combined with other label names`);
  for (const n of c.groupBy) if (n !== GROUP_BY_ALL && !LABEL_NAME_PATTERN.test(n)) throw new TypeError(`alerts.groupBy: invalid label name ${JSON.stringify(n)}`);
  const seen = new Set<string>();
  return c.receivers.map((r) => {
    if (seen.has(r.name)) throw new TypeError(`duplicate receiver name ${JSON.stringify(r.name)}`);
    seen.add(r.name);
    let m: readonly Matcher[];
    if (!r.match) m = [];
    else if (Array.isArray(r.match)) {
      (r.match as readonly Matcher[]).forEach(validateMatcher);
      m = r.match as readonly Matcher[];
    } else m = matchersFromMap(r.match as Readonly<Record<string, string>>);
    return { name: r.name, matchers: m, sendResolved: r.sendResolved };
  });
}

function intersect(common: Map<string, string> | null, labels: Labels): Map<string, string> {
  if (common === null) return new Map(Object.entries(labels));
  for (const [k, v] of common) if (labels[k] !== v) common.delete(k);
  return common;
}

function mergeCommon(a: Map<string, string> | null, b: Map<string, string> | null): Map<string, string> {
  if (!a) return b ?? new Map();
  if (!b) return a;
  for (const [k, v] of a) if (b.get(k) !== v) a.delete(k);
  return a;
}

function byStart(a: Alert, b: Alert): number {
  return a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
}

function toNotificationAlert(a: Alert): NotificationAlert {
  return {
    fingerprint: a.fingerprint,
    status: a.endsAt === null ? 'firing' : 'resolved',
    labels: { ...a.labels },
    annotations: { summary: a.annotations.summary, description: a.annotations.description },
    startsAt: new Date(a.startsAt).toISOString(),
    endsAt: a.endsAt === null ? null : new Date(a.endsAt).toISOString(),
  };
}
