import type { Alert, AlertName } from './types.js';

/**
 * Inhibition, with the fixed, topology-aware rules of docs/states-and-alerts.md:
 *
 * - `LLMAgentOffline` for host H inhibits every other alert with `host=H` (an offline
 *   agent's service states are unknown; the offline alert is the one news);
 * - `LLMServiceDown` for (host, service) inhibits `LLMServiceDegraded` and
 *   `LLMSlowInference` of the same (host, service).
 *
 * Sources are FIRING alerts, whether silenced or not (as in Alertmanager): silencing the
 * offline alert of a host under maintenance must not let its frozen service alerts page.
 * An inhibited source still inhibits (a down service on an offline host keeps its degraded
 * alert quiet when the host returns, until the next evaluation resolves one or the other).
 *
 * The index is kept up to date incrementally: call `observe` with every new version of an
 * alert (firing or resolved), in the order they happen.
 */

const OFFLINE: AlertName = 'LLMAgentOffline';
const DOWN: AlertName = 'LLMServiceDown';
const DOWN_INHIBITS: ReadonlySet<string> = new Set<AlertName>(['LLMServiceDegraded', 'LLMSlowInference']);

export class InhibitIndex {
  /** host → fingerprints of firing LLMAgentOffline alerts */
  private readonly offline = new Map<string, Set<string>>();
  /** host \0 service → fingerprints of firing LLMServiceDown alerts */
  private readonly down = new Map<string, Set<string>>();

  /** Records a new version of an alert: a firing source is added, a resolved one removed. */
  observe(alert: Alert): void {
    const name = alert.labels.alertname;
    const host = alert.labels.host;
    if (host === undefined) return;
    let map: Map<string, Set<string>>;
    let key: string;
    if (name === OFFLINE) {
      map = this.offline;
      key = host;
    } else if (name === DOWN && alert.labels.service !== undefined) {
      map = this.down;
      key = `${host}\u0000${alert.labels.service}`;
    } else {
      return;
    }
    const set = map.get(key);
    if (alert.endsAt === null) {
      if (set) set.add(alert.fingerprint);
      else map.set(key, new Set([alert.fingerprint]));
    } else if (set) {
      set.delete(alert.fingerprint);
      if (set.size === 0) map.delete(key);
    }
  }

  /** Fingerprints of the firing alerts inhibiting this one, sorted; empty when none. */
  inhibitedBy(alert: Pick<Alert, 'labels' | 'fingerprint'>): readonly string[] {
    const { alertname, host, service } = alert.labels;
    if (host === undefined) return NONE;
    let out: string[] | undefined;
    if (alertname !== OFFLINE) {
      const src = this.offline.get(host);
      if (src) out = [...src];
    }
    if (service !== undefined && alertname !== undefined && DOWN_INHIBITS.has(alertname)) {
      const src = this.down.get(`${host}\u0000${service}`);
      if (src) (out ??= []).push(...src);
    }
    if (!out) return NONE;
    return out.filter((fp) => fp !== alert.fingerprint).sort();
  }

  /** Number of source alerts indexed (for tests and metrics). */
  get sources(): number {
    let n = 0;
    for (const s of this.offline.values()) n += s.size;
    for (const s of this.down.values()) n += s.size;
    return n;
  }
}

/** Per alert fingerprint, the fingerprints inhibiting it (only inhibited alerts appear). */
export function inhibitions(alerts: Iterable<Alert>): Map<string, readonly string[]> {
  const list = [...alerts];
  const index = new InhibitIndex();
  for (const a of list) index.observe(a);
  const out = new Map<string, readonly string[]>();
  for (const a of list) {
    const by = index.inhibitedBy(a);
    if (by.length) out.set(a.fingerprint, by);
  }
  return out;
}

const NONE: readonly string[] = Object.freeze([]);
