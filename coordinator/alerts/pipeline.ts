import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { CoordinatorConfig, NotifierConfig } from '../../shared/config/coordinator-config.js';
import type { FleetState } from '../fleet/types.js';
import { ActiveAlerts } from './alert-set.js';
import { Dispatcher, type DispatcherConfig, type DispatcherDeps, type ReceiverRoute } from './dispatcher.js';
import { matchersFromMap } from './matchers.js';
import { InhibitIndex } from './inhibit.js';
import { EMPTY_RULE_MEMORY, evaluateRules, type RuleMemory } from './rules.js';
import { activeSilences, silencedBy } from './silences.js';
import type { Alert, AlertStatusView, Silence, Suppression } from './types.js';

/**
 * The alert pipeline, wired (docs/states-and-alerts.md): fleet state → rules → alert set → [silences,
 * inhibition] → groups per receiver → dedup → `emit`. No I/O of its own: the log and the
 * outbox are the caller's (`getLogEntry`, `emit`, `updateLog`), silences come from a
 * function, time from the injected clock.
 *
 * `update(fleet)` is cheap and may be called on every fleet change: evaluations are
 * coalesced to at most one per `evaluateEvery` (default 100 ms; the first change after a
 * quiet spell is evaluated at once, later ones at the end of the window, always with the
 * latest state). Call it on a periodic tick too (the tracker's sweep does, by declaring
 * agents lost), since LLMAgentOffline also depends on time.
 */

export const DEFAULT_EVALUATE_EVERY = 100;

export interface AlertPipelineOptions {
  clock: Clock;
  config: DispatcherConfig;
  getLogEntry: DispatcherDeps['getLogEntry'];
  emit: DispatcherDeps['emit'];
  /** persist a log entry changed without a notification (see NotificationLogEntry) */
  updateLog?: DispatcherDeps['updateLog'];
  /** every stored silence (active, pending and expired are all fine); called once per flush and per alerts() */
  silences: () => readonly Silence[];
  /**
   * The host's maintenance window while it lasts: its alerts are muted like silenced ones
   * (still listed, as `suppressed`; a problem still there when the window ends pages then).
   */
  maintenance?: (host: string) => { until: string; by: string; comment: string } | null;
  /** docs/protocol.md `fleet.agentLostAfter`, ms */
  agentLostAfter: number;
  /** docs/configuration.md `fleet.retireAfter`, ms; default never */
  retireAfter?: number;
  evaluateEvery?: number;
  /** how long resolved alerts stay visible (alerts({ resolved: true })); default 15 min */
  resolvedRetention?: number;
  newId?: () => string;
  /** errors of a flush or an evaluation run from a timer */
  onError?: (err: unknown) => void;
  /** after every evaluation: alerts() may answer differently now (the live feed diffs it) */
  onEvaluated?: () => void;
}

export class AlertPipeline {
  private memory: RuleMemory = EMPTY_RULE_MEMORY;
  private readonly active: ActiveAlerts;
  private readonly inhibit = new InhibitIndex();
  private readonly dispatcher: Dispatcher;
  private pending: FleetState | null = null;
  private timer: TimerHandle | undefined;
  private lastEvalAt = -Infinity;
  private stopped = false;
  private evaluations = 0;

  constructor(private readonly opts: AlertPipelineOptions) {
    this.active = new ActiveAlerts(opts.resolvedRetention === undefined ? {} : { resolvedRetention: opts.resolvedRetention });
    this.dispatcher = new Dispatcher({
      clock: opts.clock,
      config: opts.config,
      getLogEntry: opts.getLogEntry,
      emit: opts.emit,
      ...(opts.updateLog ? { updateLog: opts.updateLog } : {}),
      ...(opts.newId ? { newId: opts.newId } : {}),
      ...(opts.onError ? { onError: (err: unknown) => opts.onError!(err) } : {}),
      muter: (now) => {
        const silences = activeSilences(this.opts.silences(), now);
        return (a) => (silences.length > 0 && silencedBy(a, silences, now).length > 0) || this.inhibit.inhibitedBy(a).length > 0 || this.inMaintenance(a) !== null;
      },
    });
  }

  /** The fleet changed (or a tick): evaluate now, or at the end of the current coalescing window. */
  update(fleet: FleetState): void {
    if (this.stopped) return;
    this.pending = fleet;
    if (this.timer) return;
    const wait = this.lastEvalAt + (this.opts.evaluateEvery ?? DEFAULT_EVALUATE_EVERY) - this.opts.clock.now();
    if (wait <= 0) {
      this.safeEvaluate();
      return;
    }
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.safeEvaluate();
    }, wait);
  }

  private safeEvaluate(): void {
    try {
      this.evaluate();
    } catch (err) {
      if (!this.opts.onError) throw err;
      this.opts.onError(err);
    }
  }

  /** Evaluates the latest fleet given to update() right away (tests, shutdown); a no-op when nothing is pending. */
  evaluate(): void {
    const fleet = this.pending;
    if (!fleet || this.stopped) return;
    this.pending = null;
    if (this.timer) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.opts.clock.now();
    this.lastEvalAt = now;
    this.evaluations++;
    const result = evaluateRules(fleet, now, this.memory, { agentLostAfter: this.opts.agentLostAfter, retireAfter: this.opts.retireAfter ?? Infinity });
    this.memory = result.memory;
    const changes = this.active.update(result.byHost, now);
    for (const c of changes) this.inhibit.observe(c);
    this.dispatcher.ingest(changes);
    this.active.prune(now);
    this.opts.onEvaluated?.();
  }

  /**
   * GET /api/v1/alerts: firing alerts, each `firing` or `suppressed` with the silence ids and
   * inhibiting fingerprints; with `{ resolved: true }` also the recently resolved ones.
   * Oldest first.
   */
  alerts(opts: { resolved?: boolean } = {}): AlertStatusView[] {
    const now = this.opts.clock.now();
    const silences = activeSilences(this.opts.silences(), now);
    const out: AlertStatusView[] = [];
    for (const alert of this.active.values()) {
      if (alert.endsAt !== null) {
        if (opts.resolved) out.push({ alert, state: 'resolved', suppressedBy: [] });
        continue;
      }
      const suppressedBy = this.suppression(alert, silences, now);
      out.push({ alert, state: suppressedBy.length ? 'suppressed' : 'firing', suppressedBy });
    }
    return out.sort((a, b) => a.alert.startsAt - b.alert.startsAt || (a.alert.fingerprint < b.alert.fingerprint ? -1 : a.alert.fingerprint > b.alert.fingerprint ? 1 : 0));
  }

  /** Counts by (alertname, state) for `llm_health_alerts{alertname,state}`. */
  counts(): Map<string, { firing: number; suppressed: number }> {
    const now = this.opts.clock.now();
    const silences = activeSilences(this.opts.silences(), now);
    const out = new Map<string, { firing: number; suppressed: number }>();
    for (const a of this.active.firing()) {
      const name = a.labels.alertname ?? '';
      let c = out.get(name);
      if (!c) out.set(name, (c = { firing: 0, suppressed: 0 }));
      if (this.suppression(a, silences, now).length) c.suppressed++;
      else c.firing++;
    }
    return out;
  }

  /** Internals for tests and metrics. */
  stats(): { alerts: number; firing: number; groups: number; evaluations: number } {
    return { alerts: this.active.size, firing: this.active.firingSize, groups: this.dispatcher.groupCount, evaluations: this.evaluations };
  }

  /** Cancels the coalescing timer and every group timer; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = null;
    this.dispatcher.stop();
  }

  private suppression(alert: Alert, silences: readonly Silence[], now: number): Suppression[] {
    const out: Suppression[] = [];
    const ids = silences.length ? silencedBy(alert, silences, now) : [];
    if (ids.length) out.push({ kind: 'silenced', silenceIds: ids });
    const by = this.inhibit.inhibitedBy(alert);
    if (by.length) out.push({ kind: 'inhibited', by: [...by] });
    const m = this.inMaintenance(alert);
    if (m) out.push({ kind: 'maintenance', host: alert.labels.host!, ...m });
    return out;
  }

  private inMaintenance(alert: Alert): { until: string; by: string; comment: string } | null {
    const host = alert.labels.host;
    return host === undefined || !this.opts.maintenance ? null : this.opts.maintenance(host);
  }
}

/** A receiver's `match` (equality) and `matchRe` (RE2 regex) as one list; the plain map when there are no regexes. */
function routeMatch(n: Pick<NotifierConfig, 'match' | 'matchRe'>): ReceiverRoute['match'] {
  if (!n.matchRe) return n.match;
  return [...matchersFromMap(n.match), ...matchersFromMap(n.matchRe, { regex: true })];
}

/** The dispatcher config from the coordinator YAML (docs/states-and-alerts.md); a receiver's sendResolved defaults to alerts.sendResolved. */
export function dispatcherConfigFrom(config: Pick<CoordinatorConfig, 'alerts' | 'notify'>, externalUrl: string): DispatcherConfig {
  const a = config.alerts;
  return {
    groupBy: a.groupBy,
    groupWait: a.groupWait,
    groupInterval: a.groupInterval,
    repeatInterval: a.repeatInterval,
    receivers: config.notify.map((n) => ({ name: n.name, match: routeMatch(n), sendResolved: n.sendResolved ?? a.sendResolved })),
    externalUrl,
  };
}
