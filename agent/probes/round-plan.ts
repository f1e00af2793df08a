import type { DeepProbeConfig, ServiceConfig } from '../../shared/config/agent-config.js';
import { ProgressTracker } from './stall.js';
import type { MetricsSample, ProbeAttempt } from './types.js';

/**
 * Which checks a round asks, decided from what the service's earlier rounds remember; pure,
 * with `now` passed in. A healthy server gets `alive` every round, the rest only when due.
 */

/** How often `ready` (model listed / loaded) is asked while `alive` keeps passing. */
export const READY_EVERY_MS = 30_000;

/** What one service's rounds remember between rounds; the caller keeps one per service. */
export interface RoundState {
  /** when a deep probe last passed (sent, or credited from metrics), and on which URL */
  lastDeepAt?: number;
  lastDeepUrl?: string;
  /** progress counter value a metrics-credited deep probe is compared against */
  deepBaseline?: number;
  /** a real deep probe just ran; its own token moved the counters, so take the next read as baseline */
  rebaseline: boolean;
  /** undefined until known; false once a `metrics: auto` service answered that it has none */
  metricsSupported?: boolean;
  lastMetrics?: MetricsSample;
  /** when `ready` last passed, and on which URL (it is re-asked every READY_EVERY_MS) */
  lastReadyAt?: number;
  lastReadyUrl?: string;
  /** when metrics were last read */
  lastMetricsAt?: number;
  tracker: ProgressTracker;
}

export function createRoundState(): RoundState {
  return { rebaseline: false, tracker: new ProgressTracker() };
}

/**
 * A model list changes rarely: asked every READY_EVERY_MS, and at once on a fresh state
 * (agent start, after a restart) or another URL.
 */
export function readyDue(state: RoundState, url: string, now: number): boolean {
  return state.lastReadyAt === undefined || state.lastReadyUrl !== url || now - state.lastReadyAt >= READY_EVERY_MS;
}

export function deepDue(state: RoundState, deep: DeepProbeConfig | undefined, url: string, now: number): boolean {
  return deep !== undefined && (state.lastDeepAt === undefined || state.lastDeepUrl !== url || now - state.lastDeepAt >= deep.every);
}

/**
 * Often enough to see a stall well within stallAfter, and whenever a deep probe is due
 * (moving counters can stand in for it).
 */
/** Metrics are configured and the server has not said it has none. */
export function metricsWanted(state: RoundState, service: ServiceConfig): boolean {
  return service.metrics !== false && state.metricsSupported !== false;
}

export function metricsDue(state: RoundState, service: ServiceConfig, deep: DeepProbeConfig | undefined, url: string, now: number): boolean {
  if (!metricsWanted(state, service)) return false;
  return state.lastMetricsAt === undefined || now - state.lastMetricsAt >= Math.max(service.interval, service.stallAfter / 6) || deepDue(state, deep, url, now);
}

/** Counters that moved since the last deep probe prove generation without adding load. */
export function creditFromMetrics(state: RoundState, metrics: MetricsSample | undefined, url: string): ProbeAttempt | undefined {
  if (!metrics || state.deepBaseline === undefined) return undefined;
  const moved = metrics.progress - state.deepBaseline;
  if (moved <= 0) return undefined;
  return { level: 'deep', outcome: 'ok', url, latencyMs: 0, detail: `progress counters moved (+${moved} since the last deep probe)`, inferred: true };
}

/** A deep probe passed at `now` on `url`: from a request sent (`sent`) or credited from counters. */
export function deepPassed(state: RoundState, url: string, now: number, sent: boolean, metrics: MetricsSample | undefined): void {
  state.lastDeepAt = now;
  state.lastDeepUrl = url;
  if (sent) {
    // its own token moved the counters: the next read is the baseline
    state.deepBaseline = undefined;
    state.rebaseline = true;
  } else {
    state.deepBaseline = metrics?.progress;
  }
}
