import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SERVICE_STATES } from '../../shared/protocol/constants.js';
import type { Event, ProbesMessage } from '../../shared/protocol/messages.js';
import { labelValue, PROBE_DURATION_BUCKETS, RESTART_OUTCOMES, serviceUp } from '../../shared/metrics/labels.js';
import type { FleetTracker } from '../fleet/tracker.js';
import type { AgentInputObserver } from '../hub/connection.js';

export interface FleetMetricsDeps {
  fleet: Pick<FleetTracker, 'state' | 'view' | 'subscribe'>;
  /** open agent WebSockets, those still waiting for hello included */
  connections: () => number;
}

/**
 * Fleet metrics. Gauges are computed at scrape time from the live fleet (the same view the
 * API serves, so an offline agent's services read `unknown`, not up); only what state cannot
 * give back is counted as it happens: probe durations and restarts, fed by the hub.
 */
export function registerFleetMetrics(registry: Registry, deps: FleetMetricsDeps): { observer: AgentInputObserver; stop: () => void } {
  const { fleet } = deps;
  new Gauge({
    name: 'llm_health_service_up',
    help: 'Whether the service serves requests: 1 when healthy or degraded, 0 otherwise (also while its agent is offline).',
    labelNames: ['host', 'service', 'kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const h of fleet.view().hosts) {
        for (const s of h.services) this.set({ host: labelValue(h.id), service: labelValue(s.name), kind: labelValue(s.kind) }, serviceUp(s.state));
      }
    },
  });
  new Gauge({
    name: 'llm_health_services',
    help: 'Services per state, across the fleet (every state is listed, 0 included).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(SERVICE_STATES.map((s) => [s, 0]));
      for (const h of fleet.view().hosts) for (const s of h.services) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'llm_health_hosts_connected',
    help: 'Hosts whose agent has an open WebSocket to this coordinator.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const h of fleet.state.hosts.values()) if (h.connected) n++;
      this.set(n);
    },
  });
  new Gauge({
    name: 'llm_health_agent_connections',
    help: 'Open agent WebSocket connections, including those not yet past hello.',
    registers: [registry],
    collect() {
      this.set(deps.connections());
    },
  });
  const probeDuration = new Histogram({
    name: 'llm_health_probe_duration_seconds',
    help: 'Duration of the probe rounds the agents report, by service kind.',
    labelNames: ['kind'] as const,
    buckets: PROBE_DURATION_BUCKETS,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'llm_health_restarts_total',
    help: 'Automatic restarts reported by the agents since this coordinator started: started, and how they ended.',
    labelNames: ['host', 'service', 'outcome'] as const,
    registers: [registry],
  });

  /** The kind an agent declared for a service; undefined for a name it never declared (not labelled, so not counted). */
  const kindOf = (agentId: string, service: string): string | undefined => fleet.state.hosts.get(agentId)?.services.find((s) => s.name === service)?.kind;

  const observer: AgentInputObserver = {
    probesReceived(agentId: string, msg: ProbesMessage) {
      for (const r of msg.results) {
        const kind = r.latencyMs === null ? undefined : kindOf(agentId, r.service);
        if (kind !== undefined) probeDuration.observe({ kind: labelValue(kind) }, r.latencyMs! / 1000);
      }
    },
    eventsStored(agentId: string, events: readonly Event[]) {
      for (const e of events) {
        const outcome = RESTART_OUTCOMES[e.type];
        if (outcome === undefined || e.service === undefined || kindOf(agentId, e.service) === undefined) continue;
        restarts.inc({ host: labelValue(agentId), service: labelValue(e.service), outcome });
      }
    },
  };
  // A forgotten host's counters would otherwise be exported until the coordinator restarts.
  const stop = fleet.subscribe((input, _fleet, _host, before) => {
    if (input.type !== 'forgotten' || !before) return;
    for (const s of before.services) {
      for (const outcome of Object.values(RESTART_OUTCOMES)) restarts.remove({ host: labelValue(before.id), service: labelValue(s.name), outcome });
    }
  });
  return { observer, stop };
}
