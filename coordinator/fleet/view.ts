import type { FleetState, FleetView, HostEntry, HostView, ServiceView } from './types.js';

export const OFFLINE_REASON = 'agent offline';

/**
 * True when the agent has not been heard from for `agentLostAfter` (docs/protocol.md), or the
 * tracker already declared it lost. Time-based as well as flag-based so the view is right
 * even between two sweeps.
 */
export function isOffline(host: HostEntry, now: number, agentLostAfter: number): boolean {
  return host.lost || host.lastSeen === null || now - host.lastSeen > agentLostAfter;
}

/**
 * Away for `retireAfter` (docs/configuration.md, `fleet.retireAfter`): a decommissioned host,
 * or one that will not be back soon. It stops paging; it stays listed until an admin forgets it.
 */
export function isRetired(host: HostEntry, now: number, retireAfter: number): boolean {
  return !host.connected && host.lastSeen !== null && now - host.lastSeen > retireAfter;
}

/** `GET /api/v1/fleet` body. Pure: the same state and time always give the same view. */
export function fleetView(state: FleetState, now: number, agentLostAfter: number, retireAfter = Infinity, maintenanceOf: (host: string) => HostView['maintenance'] = () => null): FleetView {
  const hosts = [...state.hosts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { hosts: hosts.map((h) => hostView(h, isOffline(h, now, agentLostAfter), isRetired(h, now, retireAfter), maintenanceOf(h.id))) };
}

/** One host of the view (the live feed sends hosts one at a time). */
export function hostViewAt(h: HostEntry, now: number, agentLostAfter: number, retireAfter = Infinity, maintenance: HostView['maintenance'] = null): HostView {
  return hostView(h, isOffline(h, now, agentLostAfter), isRetired(h, now, retireAfter), maintenance);
}

function hostView(h: HostEntry, offline: boolean, retired: boolean, maintenance: HostView['maintenance']): HostView {
  return {
    id: h.id,
    labels: { ...h.labels },
    connected: h.connected,
    retired,
    lastSeen: h.lastSeen === null ? null : new Date(h.lastSeen).toISOString(),
    gpu: h.gpu,
    services: h.services.map(
      (s): ServiceView => ({
        name: s.name,
        kind: s.kind,
        // Neither up nor down: the last real state is kept in `s` and shows again on return.
        state: offline ? 'unknown' : s.state,
        reason: offline ? OFFLINE_REASON : s.reason,
        url: s.url,
        lastProbe: s.lastProbe ? { ok: s.lastProbe.ok, latencyMs: s.lastProbe.latencyMs, at: s.lastProbe.at } : { ok: null, latencyMs: null, at: null },
        restarts: { count: s.restarts.count, lastAt: s.restarts.lastAt, lastOutcome: s.restarts.lastOutcome },
      }),
    ),
    maintenance,
  };
}
