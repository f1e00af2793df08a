import type { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * prom-client's default process and Node.js metrics, less three gauges named `*_total`
 * (`nodejs_active_{handles,requests,resources}_total`): Prometheus reserves the suffix for
 * counters, so promtool flags them, and each is only the sum of the per-type gauge kept beside it.
 * `collect` is passed in because the agent loads prom-client at run time, only when asked to.
 */
export function processMetrics(registry: Registry, collect: typeof collectDefaultMetrics): void {
  collect({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
}
