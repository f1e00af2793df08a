/**
 * Label values for the Prometheus endpoints of the agent and the coordinator. Every series is
 * kept by Prometheus for as long as its retention, so a label value must come from a bounded
 * set (config names, agent ids an agent token was granted, fixed vocabularies), never from free
 * text such as a failure reason. The cap is a second line of defence: ids and names are
 * already pattern-checked, but a long value would still be stored once per sample.
 */
export const MAX_LABEL_VALUE_LENGTH = 128;

export function labelValue(value: string): string {
  return value.length <= MAX_LABEL_VALUE_LENGTH ? value : value.slice(0, MAX_LABEL_VALUE_LENGTH);
}

/** Probe round durations: a cheap /health answers in milliseconds, a deep probe may take its whole 30 s timeout. */
export const PROBE_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** `up` for a service state: healthy and degraded serve requests; everything else does not. */
export function serviceUp(state: string): 0 | 1 {
  return state === 'healthy' || state === 'degraded' ? 1 : 0;
}

/** Restart events, as the `outcome` label of `llm_health_restarts_total`. */
export const RESTART_OUTCOMES: Readonly<Record<string, string>> = {
  restart_started: 'started',
  restart_succeeded: 'succeeded',
  restart_failed: 'failed',
};
