/**
 * Whether the agent's main loop really turns, for the systemd watchdog
 * (shared/systemd/watchdog.ts): every service's probe cycle must finish within what its own
 * settings allow. Probes and systemctl queries all have deadlines, so a cycle past its budget
 * is stuck on something that never answers, and the agent is better restarted than trusted.
 */
import type { ServiceConfig } from '../shared/config/agent-config.js';

/** systemctl show and journalctl before a restart (agent/restart/systemctl.ts), and slack for a busy host */
const QUERIES_MS = 2 * 10_000;
const SLACK_MS = 60_000;

/** The longest one probe cycle may take: every URL's attempts and waits, the deep probe, the evidence reads. */
export function cycleBudgetMs(service: Pick<ServiceConfig, 'retries' | 'timeout' | 'retryDelay' | 'fallbackUrls' | 'deepProbe'>): number {
  const urls = 1 + (service.fallbackUrls?.length ?? 0);
  return urls * service.retries * (service.timeout + service.retryDelay) + (service.deepProbe?.timeout ?? 0) + QUERIES_MS + SLACK_MS;
}

export interface CycleSource {
  readonly service: Pick<ServiceConfig, 'name' | 'retries' | 'timeout' | 'retryDelay' | 'fallbackUrls' | 'deepProbe'>;
  busyFor(now: number): number;
}

/** null while every cycle is within its budget, else which one is stuck and for how long */
export function stuckCycle(monitors: readonly CycleSource[], now: number): string | null {
  for (const m of monitors) {
    const busy = m.busyFor(now);
    const budget = cycleBudgetMs(m.service);
    if (busy > budget) return `service ${m.service.name}: probe cycle running for ${Math.round(busy / 1000)} s (budget ${Math.round(budget / 1000)} s)`;
  }
  return null;
}
