import type { Event, HelloMessage, SnapshotMessage } from '../../shared/protocol/messages.js';
import type { FleetInput, FleetState, HostEntry, ServiceEntry } from './types.js';

/**
 * Pure reducers: (state, input) → new state, no clock, no I/O. Inputs about an agent that
 * never said `hello` are ignored, since the hub only forwards what a hello'd connection sent.
 *
 * Ordering rule: on every (re)connect an agent sends its snapshot first and then replays
 * spooled events, so replayed events are often older than what the snapshot said. Each
 * field only moves forward in the agent's own time (`at`), which makes replays harmless.
 */

export const EMPTY_FLEET: FleetState = { hosts: new Map() };

const NO_RESTARTS = { count: 0, lastAt: null, lastOutcome: null } as const;

export function reduceFleet(state: FleetState, input: FleetInput): FleetState {
  const host = reduceHost(state, input);
  return host ? putHost(state, host) : state;
}

/**
 * The host an input changes, as a new value, or undefined when nothing changes. Each input
 * concerns exactly one agent, so the tracker can replace that one entry in place instead of
 * copying the whole map (a copy per pong is quadratic in the fleet size).
 */
export function reduceHost(state: FleetState, input: FleetInput): HostEntry | undefined {
  switch (input.type) {
    case 'hello':
      return applyHello(state.hosts.get(input.msg.agentId), input.msg, input.at);
    case 'event':
      return updateHost(state, input.event.agentId, input.at, (h) => applyEvent(h, input.event));
    case 'snapshot':
      return updateHost(state, input.agentId, input.at, (h) => applySnapshot(h, input.msg));
    case 'probes':
      // Only lastProbe: a result's `state` may be older than an event still in the spool,
      // and state transitions are the events' job (each carries its reason).
      return updateHost(state, input.agentId, input.at, (h) => {
        let services = h.services;
        for (const r of input.msg.results) {
          services = mapService(services, r.service, (s) =>
            s.lastProbe && later(s.lastProbe.at, r.at) ? s : { ...s, lastProbe: { ok: r.ok, latencyMs: r.latencyMs, at: r.at } },
          );
        }
        return services === h.services ? h : { ...h, services };
      });
    case 'gpu':
      return updateHost(state, input.agentId, input.at, (h) => ({ ...h, gpu: { at: input.msg.at ?? new Date(input.at).toISOString(), gpus: input.msg.gpus } }));
    case 'seen':
      return updateHost(state, input.agentId, input.at, (h) => h);
    case 'connected':
      return updateHost(state, input.agentId, input.at, (h) => (h.connected ? h : { ...h, connected: true }));
    case 'disconnected':
      return updateHost(state, input.agentId, input.at, (h) => (h.connected ? { ...h, connected: false } : h));
    case 'agentLost': {
      const h = state.hosts.get(input.agentId);
      return !h || h.lost ? undefined : { ...h, lost: true };
    }
    case 'duplicate':
      return updateHost(state, input.agentId, input.at, (h) => ({ ...h, duplicateAt: input.at }));
    case 'forgotten':
      return undefined;
  }
}

/**
 * Hosts known from the store at startup: disconnected, services unknown until they say hello.
 * The coordinator was not listening while it was down, so silence is counted from `startedAt`
 * at the earliest: an agent that has not had the time to reconnect is not "lost" (which
 * would page LLMAgentOffline for every quiet agent after a coordinator restart).
 */
export function fleetFromAgents(agents: readonly { id: string; labels: Record<string, string>; bootId: string; agentVersion: string; lastSeen: number }[], startedAt = 0): FleetState {
  const hosts = new Map<string, HostEntry>();
  for (const a of agents) {
    hosts.set(a.id, { id: a.id, labels: { ...a.labels }, bootId: a.bootId, agentVersion: a.agentVersion, connected: false, lastSeen: Math.max(a.lastSeen, startedAt), lost: false, gpu: null, services: [], duplicateAt: null });
  }
  return { hosts };
}

function putHost(state: FleetState, host: HostEntry): FleetState {
  const hosts = new Map(state.hosts);
  hosts.set(host.id, host);
  return { hosts };
}

/** Anything heard from an agent refreshes lastSeen and clears `lost`. */
function updateHost(state: FleetState, agentId: string, at: number, f: (h: HostEntry) => HostEntry): HostEntry | undefined {
  const h = state.hosts.get(agentId);
  if (!h) return undefined;
  const next = f(h);
  const lastSeen = Math.max(h.lastSeen ?? at, at);
  const updated = next.lastSeen === lastSeen && !next.lost ? next : { ...next, lastSeen, lost: false };
  return updated === h ? undefined : updated;
}

function applyHello(prev: HostEntry | undefined, msg: HelloMessage, at: number): HostEntry {
  // The hello's list is the agent's config: services it no longer has disappear, the
  // others keep what we knew (the snapshot right after will refresh them).
  const byName = new Map(prev?.services.map((s) => [s.name, s]));
  const services = msg.services.map((d): ServiceEntry => {
    const old = byName.get(d.name);
    const base = { name: d.name, kind: d.kind, url: d.url, ...(d.unit !== undefined ? { unit: d.unit } : {}) };
    return old ? { ...old, ...base } : { ...base, state: 'unknown', reason: 'no report yet', since: null, lastProbe: null, restarts: NO_RESTARTS };
  });
  return {
    id: msg.agentId,
    labels: { ...msg.labels },
    bootId: msg.bootId,
    agentVersion: msg.agentVersion,
    connected: true,
    lastSeen: Math.max(prev?.lastSeen ?? at, at),
    lost: false,
    gpu: prev?.gpu ?? null,
    services,
    duplicateAt: prev?.duplicateAt ?? null,
  };
}

function applySnapshot(h: HostEntry, msg: SnapshotMessage): HostEntry {
  let services = h.services;
  for (const s of msg.services) {
    const entry: ServiceEntry = { name: s.name, kind: s.kind, url: s.url, state: s.state, reason: s.reason, since: s.since, lastProbe: s.lastProbe, restarts: s.restarts };
    const existing = services.find((x) => x.name === s.name);
    // A snapshot is the agent's whole current truth: it replaces, except a unit known from hello.
    services = existing ? mapService(services, s.name, (old) => ({ ...entry, ...(old.unit !== undefined ? { unit: old.unit } : {}) })) : [...services, entry];
  }
  return { ...h, services, gpu: msg.gpu === undefined ? h.gpu : msg.gpu };
}

function applyEvent(h: HostEntry, e: Event): HostEntry {
  if (e.service === undefined) return h;
  const services = mapService(h.services, e.service, (s) => {
    switch (e.type) {
      case 'state_changed':
      case 'gave_up': {
        const to = e.to ?? (e.type === 'gave_up' ? 'gave_up' : undefined);
        if (!to || (s.since && later(s.since, e.at))) return s;
        return { ...s, state: to, reason: e.reason, since: e.at };
      }
      case 'restart_started':
        if (s.restarts.lastAt && !later(e.at, s.restarts.lastAt)) return s;
        return { ...s, restarts: { count: s.restarts.count + 1, lastAt: e.at, lastOutcome: 'started' } };
      case 'restart_succeeded':
      case 'restart_failed':
        if (s.restarts.lastAt && later(s.restarts.lastAt, e.at)) return s;
        return { ...s, restarts: { ...s.restarts, lastAt: s.restarts.lastAt ?? e.at, lastOutcome: e.type === 'restart_succeeded' ? 'succeeded' : 'failed' } };
      default:
        return s;
    }
  });
  return services === h.services ? h : { ...h, services };
}

function mapService(services: readonly ServiceEntry[], name: string, f: (s: ServiceEntry) => ServiceEntry): readonly ServiceEntry[] {
  const i = services.findIndex((s) => s.name === name);
  if (i < 0) return services;
  const next = f(services[i]!);
  if (next === services[i]) return services;
  const out = services.slice();
  out[i] = next;
  return out;
}

/** a is strictly later than b (ISO strings from different writers may differ in precision or offset) */
function later(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b);
}
