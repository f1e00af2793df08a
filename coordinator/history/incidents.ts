import type { ServiceState } from '../../shared/protocol/constants.js';
import type { HistoryIncident } from '../store/history-store.js';

/**
 * What counts (docs/http-api.md, history): healthy and degraded are up; unknown (no report,
 * agent offline) is not observed and neither starts nor ends an incident; every other state
 * is down. An incident starts when a service that was last seen up is seen down, and ends
 * when it is seen up again.
 */
export function isUp(state: ServiceState): boolean {
  return state === 'healthy' || state === 'degraded';
}

const SEVERITY: Record<ServiceState, number> = { unknown: 0, healthy: 0, degraded: 0, starting: 1, restarting: 2, unhealthy: 3, down: 4, gave_up: 5 };

export function worse(a: ServiceState, b: ServiceState): ServiceState {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

export interface IncidentTrack {
  /** last state other than unknown */
  lastObserved: ServiceState | null;
  open: (HistoryIncident & { restartsAtStart: number }) | null;
}

/**
 * One observation of the service's state and restart count: returns the incident to store
 * when it started, changed or ended, else undefined.
 */
export function observeIncident(t: IncidentTrack, host: string, service: string, state: ServiceState, restartCount: number, now: number): HistoryIncident | undefined {
  if (state === 'unknown') return undefined;
  const wasUp = t.lastObserved !== null && isUp(t.lastObserved);
  t.lastObserved = state;
  if (!t.open) {
    if (!wasUp || isUp(state)) return undefined;
    t.open = { host, service, startedAt: now, endedAt: null, worst: state, restarts: 0, restartsAtStart: restartCount };
    return strip(t.open);
  }
  const restarts = Math.max(0, restartCount - t.open.restartsAtStart);
  if (isUp(state)) {
    const ended = strip({ ...t.open, restarts, endedAt: now });
    t.open = null;
    return ended;
  }
  const worst = worse(t.open.worst, state);
  if (worst === t.open.worst && restarts === t.open.restarts) return undefined;
  t.open = { ...t.open, worst, restarts };
  return strip(t.open);
}

function strip(i: HistoryIncident & { restartsAtStart?: number }): HistoryIncident {
  return { host: i.host, service: i.service, startedAt: i.startedAt, endedAt: i.endedAt, worst: i.worst, restarts: i.restarts };
}
