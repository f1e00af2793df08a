import { collectDefaultMetrics, type Registry } from 'prom-client';
import { processMetrics } from '../../shared/metrics/process.js';
import type { OutcomeHook } from '../delivery/worker.js';
import type { AgentInputObserver } from '../hub/connection.js';
import { registerAlertMetrics, type AlertMetricsDeps } from './alert-metrics.js';
import { registerFleetMetrics, type FleetMetricsDeps } from './fleet-metrics.js';

export interface CoordinatorMetrics {
  /** for the hub: probe durations and restarts */
  readonly observer: AgentInputObserver;
  /** for the delivery workers: message outcomes */
  readonly onOutcome: OutcomeHook;
  /** unsubscribes from the fleet */
  stop(): void;
}

/**
 * Every coordinator metric (docs/http-api.md#get-metrics) on `registry`, the process metrics
 * included. The registry is the caller's: never prom-client's global one, so two coordinators
 * in one process (the tests) each export only their own fleet.
 */
export function registerCoordinatorMetrics(registry: Registry, deps: FleetMetricsDeps & AlertMetricsDeps, options: { processMetrics?: boolean } = {}): CoordinatorMetrics {
  if (options.processMetrics !== false) processMetrics(registry, collectDefaultMetrics);
  const fleet = registerFleetMetrics(registry, deps);
  const alerts = registerAlertMetrics(registry, deps);
  return { observer: fleet.observer, onOutcome: alerts.onOutcome, stop: fleet.stop };
}

