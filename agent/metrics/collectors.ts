import type * as PromClient from 'prom-client';
import { SERVICE_STATES } from '../../shared/protocol/constants.js';
import { labelValue, PROBE_DURATION_BUCKETS, RESTART_OUTCOMES, serviceUp } from '../../shared/metrics/labels.js';
import { processMetrics } from '../../shared/metrics/process.js';
import type { AgentEvent, EventSink } from '../events.js';
import type { ServiceSnapshot } from '../monitor.js';
import type { RoundResult } from '../probes/types.js';

/** What the agent's metrics read at scrape time. */
export interface AgentMetricsSources {
  /** every service's current state */
  snapshot: () => readonly ServiceSnapshot[];
  /** the coordinator link, when one is configured */
  link?: { readonly connected: boolean; readonly pendingEvents: number };
}

export interface AgentMetrics {
  /** for the EventLog: counts restarts */
  readonly sink: EventSink;
  /** for each finished probe round */
  observeRound(service: { name: string; kind: string }, result: RoundResult): void;
}

/**
 * The agent's metrics (docs/configuration.md, agent `metrics`). States are read from the
 * monitors at scrape time; probe rounds and restarts are counted as they happen. Labels are
 * service names and kinds from the agent's own config.
 */
export function registerAgentMetrics(prom: typeof PromClient, registry: PromClient.Registry, sources: () => AgentMetricsSources): AgentMetrics {
  processMetrics(registry, prom.collectDefaultMetrics);
  new prom.Gauge({
    name: 'llm_health_service_up',
    help: 'Whether the service serves requests: 1 when healthy or degraded, 0 otherwise.',
    labelNames: ['service', 'kind'] as const,
    registers: [registry],
    collect() {
      for (const s of sources().snapshot()) this.set({ service: labelValue(s.name), kind: labelValue(s.kind) }, serviceUp(s.state));
    },
  });
  new prom.Gauge({
    name: 'llm_health_service_state',
    help: 'The service state: 1 for the state it is in, 0 for every other one.',
    labelNames: ['service', 'state'] as const,
    registers: [registry],
    collect() {
      for (const s of sources().snapshot()) for (const state of SERVICE_STATES) this.set({ service: labelValue(s.name), state }, s.state === state ? 1 : 0);
    },
  });
  const probeDuration = new prom.Histogram({
    name: 'llm_health_probe_duration_seconds',
    help: 'Duration of each probe round (retries and fallbacks included).',
    labelNames: ['service', 'kind'] as const,
    buckets: PROBE_DURATION_BUCKETS,
    registers: [registry],
  });
  const restarts = new prom.Counter({
    name: 'llm_health_restarts_total',
    help: 'Automatic restarts since the agent started: started, and how they ended.',
    labelNames: ['service', 'outcome'] as const,
    registers: [registry],
  });
  if (sources().link) {
    new prom.Gauge({
      name: 'llm_health_spool_events',
      help: 'Events the coordinator has not acknowledged yet (the spool depth).',
      registers: [registry],
      collect() {
        this.set(sources().link?.pendingEvents ?? 0);
      },
    });
    new prom.Gauge({
      name: 'llm_health_coordinator_connected',
      help: 'Whether the link to the coordinator is up (connected and welcomed): 1 or 0.',
      registers: [registry],
      collect() {
        this.set(sources().link?.connected ? 1 : 0);
      },
    });
  }
  return {
    sink: {
      accept(event: AgentEvent) {
        const outcome = RESTART_OUTCOMES[event.type];
        if (outcome !== undefined && event.service !== undefined) restarts.inc({ service: labelValue(event.service), outcome });
      },
    },
    observeRound(service, result) {
      probeDuration.observe({ service: labelValue(service.name), kind: labelValue(service.kind) }, result.latencyMs / 1000);
    },
  };
}
