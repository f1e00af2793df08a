import type { GpuReport } from '../../shared/protocol/messages.js';
import type { FleetState, HostEntry, ServiceEntry } from '../fleet/types.js';
import { isOffline, isRetired } from '../fleet/view.js';
import { fingerprint } from './fingerprint.js';
import type { AlertName, DesiredAlert, Labels, Severity } from './types.js';

/**
 * Alert rules (docs/states-and-alerts.md): fleet state → the set of alerts that should be firing now. Pure:
 * the same (fleet, now, memory) always gives the same result; no clock, no I/O.
 *
 * `RuleMemory` carries what a rule cannot read from one state: that a service went down
 * (LLMServiceDown stays firing through restarting/starting/gave_up/unhealthy until healthy
 * or degraded), that a restart failed (LLMRestartFailed stays firing through the next
 * `restart_started` until a restart succeeds or the service is healthy), and the alerts
 * of hosts that are offline (frozen as they were: offline states read `unknown`, which
 * neither fires nor resolves). It doubles as a cache: a host whose services, GPU report
 * and labels are the same objects as last time, and whose offline status is unchanged, is
 * not evaluated again, and a service whose entry is the same object keeps its alerts. So an
 * evaluation costs O(hosts) plus O(services) of the hosts that changed, and unchanged
 * hosts return the very same `DesiredAlert[]` array (callers can skip them by reference).
 *
 * Labels: `alertname`, `host`, `severity`, `service` where it applies, `gpu` (index) on
 * LLMGpuUnhealthy, plus the agent's labels. Agent labels named like a reserved label are
 * dropped on every alert (not only where the rule sets that label), so a label name always
 * means one thing to matchers and receivers.
 */

export const RESERVED_LABELS: ReadonlySet<string> = new Set(['alertname', 'host', 'severity', 'service', 'gpu']);

export const ALERT_SEVERITY: Readonly<Record<AlertName, Severity>> = {
  LLMServiceDown: 'critical',
  LLMServiceDegraded: 'warning',
  LLMSlowInference: 'warning',
  LLMRestartFailed: 'critical',
  LLMRestartLoop: 'critical',
  LLMAgentOffline: 'critical',
  LLMAgentDuplicateId: 'warning',
  LLMGpuUnhealthy: 'warning',
};

/** How long LLMAgentDuplicateId keeps firing after two processes were last seen fighting over an id. */
export const DUPLICATE_ALERT_MS = 10 * 60_000;

export interface RuleOptions {
  /** docs/protocol.md `fleet.agentLostAfter`, ms */
  agentLostAfter: number;
  /** docs/configuration.md `fleet.retireAfter`, ms: a host away this long no longer pages */
  retireAfter?: number;
}

/** What a host's rules depend on besides its entry: derived from the time of the evaluation. */
interface HostStatus {
  offline: boolean;
  retired: boolean;
  duplicate: boolean;
}

interface ServiceMemory {
  /** the entry this was computed from (cache key) */
  readonly entry: ServiceEntry;
  /** LLMServiceDown is latched */
  readonly down: boolean;
  /** LLMRestartFailed is latched */
  readonly restartFailed: boolean;
  /** `${count}@${lastAt}` of a failed restart the service got over (healthy after it) */
  readonly failureCleared: string | null;
  readonly alerts: readonly DesiredAlert[];
}

interface HostMemory {
  readonly servicesRef: HostEntry['services'];
  readonly gpuRef: GpuReport | null;
  readonly labelsRef: HostEntry['labels'];
  readonly offline: boolean;
  readonly retired: boolean;
  readonly duplicate: boolean;
  readonly lastSeen: number | null;
  /** agent labels minus reserved names */
  readonly base: Labels;
  readonly services: ReadonlyMap<string, ServiceMemory>;
  readonly gpuAlerts: readonly DesiredAlert[];
  /** every alert of the host: services', GPUs', and LLMAgentOffline while offline */
  readonly alerts: readonly DesiredAlert[];
}

/** Opaque to callers: pass the previous result's memory to the next evaluation. */
export interface RuleMemory {
  readonly hosts: ReadonlyMap<string, HostMemory>;
}

export const EMPTY_RULE_MEMORY: RuleMemory = { hosts: new Map() };

export interface RuleResult {
  /** every alert that should be firing now */
  /** every desired alert, flattened from byHost when read */
  readonly alerts: DesiredAlert[];
  memory: RuleMemory;
  /** the same alerts by host id; an unchanged host keeps the same array object */
  byHost: ReadonlyMap<string, readonly DesiredAlert[]>;
}

export function evaluateRules(fleet: FleetState, now: number, prev: RuleMemory, opts: RuleOptions): RuleResult {
  const hosts = new Map<string, HostMemory>();
  const byHost = new Map<string, readonly DesiredAlert[]>();
  for (const h of fleet.hosts.values()) {
    const status: HostStatus = {
      offline: isOffline(h, now, opts.agentLostAfter),
      retired: isRetired(h, now, opts.retireAfter ?? Infinity),
      duplicate: h.duplicateAt !== null && now - h.duplicateAt < DUPLICATE_ALERT_MS,
    };
    const mem = evaluateHost(h, status, prev.hosts.get(h.id));
    hosts.set(h.id, mem);
    byHost.set(h.id, mem.alerts);
  }
  return {
    memory: { hosts },
    byHost,
    // derived on demand: the pipeline reads byHost, and flattening every alert on every
    // evaluation (up to 10 a second) was O(all alerts) of work nobody used
    get alerts() {
      return [...byHost.values()].flat();
    },
  };
}

function evaluateHost(h: HostEntry, status: HostStatus, prev: HostMemory | undefined): HostMemory {
  const { offline, retired, duplicate } = status;
  if (
    prev &&
    prev.offline === offline &&
    prev.retired === retired &&
    prev.duplicate === duplicate &&
    prev.servicesRef === h.services &&
    prev.gpuRef === h.gpu &&
    prev.labelsRef === h.labels &&
    (!offline || prev.lastSeen === h.lastSeen)
  ) {
    return prev;
  }
  const base = prev && prev.labelsRef === h.labels ? prev.base : agentLabels(h.labels);
  const sameLabels = base === prev?.base;
  const keep = { servicesRef: h.services, gpuRef: h.gpu, labelsRef: h.labels, offline, retired, duplicate, lastSeen: h.lastSeen, base };
  const prevOf = (name: AlertName) => (sameLabels ? prev?.alerts.find((a) => a.labels.alertname === name) : undefined);
  const duplicateAlert = duplicate
    ? [desired('LLMAgentDuplicateId', base, h.id, undefined, `two agents use the id ${h.id}`, 'two agent processes keep taking this agent id from each other: their reports mix; give each host its own agent.id', prevOf('LLMAgentDuplicateId'))]
    : [];

  if (retired) {
    // Away past fleet.retireAfter: nothing pages any more (the offline alert and the frozen
    // service alerts resolve); the host stays listed, `retired`, until it returns or is forgotten.
    return { ...keep, services: prev?.services ?? new Map(), gpuAlerts: [], alerts: reuseIfSame(prev?.alerts, duplicateAlert) };
  }

  if (offline) {
    // Frozen: the services' and GPUs' alerts stay as they were; only the offline alert is new.
    const services = prev?.services ?? new Map<string, ServiceMemory>();
    const gpuAlerts = prev?.gpuAlerts ?? [];
    const offlineAlert = desired('LLMAgentOffline', base, h.id, undefined, `agent ${h.id} is offline`, offlineReason(h), prevOf('LLMAgentOffline'));
    const list: DesiredAlert[] = [];
    for (const s of services.values()) list.push(...s.alerts);
    list.push(...gpuAlerts, offlineAlert, ...duplicateAlert);
    return { ...keep, services, gpuAlerts, alerts: reuseIfSame(prev?.alerts, list) };
  }

  const services = new Map<string, ServiceMemory>();
  const list: DesiredAlert[] = [];
  for (const s of h.services) {
    const before = prev?.services.get(s.name);
    const mem = before && before.entry === s && sameLabels ? before : evaluateService(h.id, base, s, before, sameLabels);
    services.set(s.name, mem);
    list.push(...mem.alerts);
  }
  const gpuAlerts = prev && prev.gpuRef === h.gpu && sameLabels ? prev.gpuAlerts : reuseIfSame(sameLabels ? prev?.gpuAlerts : undefined, gpuRule(h, base, sameLabels ? prev?.gpuAlerts : undefined));
  list.push(...gpuAlerts, ...duplicateAlert);
  return { ...keep, services, gpuAlerts, alerts: reuseIfSame(prev?.alerts, list) };
}

/** The per-service rules. `before` is this service's memory from the last evaluation. */
function evaluateService(host: string, base: Labels, s: ServiceEntry, before: ServiceMemory | undefined, sameLabels: boolean): ServiceMemory {
  // `unknown` (no report yet, or the agent just said hello) neither fires nor resolves.
  if (s.state === 'unknown') return before ? { ...before, entry: s } : { entry: s, down: false, restartFailed: false, failureCleared: null, alerts: [] };

  const serving = s.state === 'healthy' || s.state === 'degraded';
  const down = s.state === 'down' || s.state === 'gave_up' || (!!before?.down && !serving);

  const failureKey = s.restarts.lastOutcome === 'failed' ? `${s.restarts.count}@${s.restarts.lastAt ?? ''}` : null;
  let failureCleared = before?.failureCleared ?? null;
  let restartFailed: boolean;
  if (s.state === 'healthy' || s.restarts.lastOutcome === 'succeeded') {
    restartFailed = false;
    if (failureKey !== null) failureCleared = failureKey;
  } else if (failureKey !== null) {
    restartFailed = failureKey !== failureCleared;
  } else {
    // a later restart started (`started`) after a failure: stays firing until it succeeds
    restartFailed = !!before?.restartFailed && s.restarts.lastOutcome === 'started';
  }

  const old = sameLabels ? before?.alerts : undefined;
  const prevOf = (name: AlertName) => old?.find((a) => a.labels.alertname === name);
  const alerts: DesiredAlert[] = [];
  const who = `${s.name} on ${host}`;
  if (down) {
    const summary = s.state === 'down' ? `${who} is down` : `${who} is down (now ${s.state.replace('_', ' ')})`;
    alerts.push(desired('LLMServiceDown', base, host, s.name, summary, s.reason, prevOf('LLMServiceDown')));
  }
  if (s.state === 'degraded') {
    if (isSlowReason(s.reason)) alerts.push(desired('LLMSlowInference', base, host, s.name, `${who} is slow`, s.reason, prevOf('LLMSlowInference')));
    else alerts.push(desired('LLMServiceDegraded', base, host, s.name, `${who} is degraded`, s.reason, prevOf('LLMServiceDegraded')));
  }
  if (restartFailed) alerts.push(desired('LLMRestartFailed', base, host, s.name, `restart of ${who} failed`, s.reason, prevOf('LLMRestartFailed')));
  if (s.state === 'gave_up') alerts.push(desired('LLMRestartLoop', base, host, s.name, `${who} keeps failing: automatic restarts stopped`, s.reason, prevOf('LLMRestartLoop')));
  return { entry: s, down, restartFailed, failureCleared, alerts: reuseIfSame(old, alerts) };
}

function gpuRule(h: HostEntry, base: Labels, old: readonly DesiredAlert[] | undefined): DesiredAlert[] {
  const out: DesiredAlert[] = [];
  for (const g of h.gpu?.gpus ?? []) {
    const warnings = g.warnings ?? [];
    if (g.healthy !== false && warnings.length === 0) continue;
    const index = String(g.index);
    const prevAlert = old?.find((a) => a.labels.gpu === index);
    const labels = prevAlert ? undefined : labelsOf(base, 'LLMGpuUnhealthy', h.id, undefined, index);
    const description = warnings.length ? warnings.join('; ') : 'reported unhealthy';
    out.push(make(labels, prevAlert, `GPU ${index}${g.name ? ` (${g.name})` : ''} on ${h.id} is unhealthy`, description));
  }
  return out;
}

/** `degraded` because inference is slow: the agent's reason starts with "slow". */
export function isSlowReason(reason: string): boolean {
  return /^\s*slow/i.test(reason);
}

function offlineReason(h: HostEntry): string {
  const since = h.lastSeen === null ? 'never heard from' : `not heard from since ${new Date(h.lastSeen).toISOString()}`;
  return h.connected ? `${since} (connection open but silent)` : `${since} (disconnected)`;
}

function agentLabels(labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!RESERVED_LABELS.has(k)) out[k] = v;
  return out;
}

/** A desired alert; reuses the previous one's labels and fingerprint (and the object, when nothing changed). */
function desired(name: AlertName, base: Labels, host: string, service: string | undefined, summary: string, description: string, prevAlert: DesiredAlert | undefined): DesiredAlert {
  return make(prevAlert ? undefined : labelsOf(base, name, host, service, undefined), prevAlert, summary, description);
}

/** Plain assignments, not spreads: this runs once per new alert, 100k times in a fleet-wide outage. */
function labelsOf(base: Labels, name: AlertName, host: string, service: string | undefined, gpu: string | undefined): Labels {
  const l: Record<string, string> = {};
  for (const k in base) l[k] = base[k]!;
  l.alertname = name;
  l.host = host;
  l.severity = ALERT_SEVERITY[name];
  if (service !== undefined) l.service = service;
  if (gpu !== undefined) l.gpu = gpu;
  return l;
}

function make(labels: Labels | undefined, prevAlert: DesiredAlert | undefined, summary: string, description: string): DesiredAlert {
  if (prevAlert) {
    if (prevAlert.annotations.summary === summary && prevAlert.annotations.description === description) return prevAlert;
    return { fingerprint: prevAlert.fingerprint, labels: prevAlert.labels, annotations: { summary, description } };
  }
  return { fingerprint: fingerprint(labels!), labels: labels!, annotations: { summary, description } };
}

function reuseIfSame<T>(prev: readonly T[] | undefined, next: T[]): readonly T[] {
  if (prev && prev.length === next.length && prev.every((x, i) => x === next[i])) return prev;
  return next;
}
