/**
 * The coordinator watching itself: whether its main loop really turns (for systemd's
 * WatchdogSec= and the dead-man's switch), and the dead-man's switch itself — a
 * healthchecks-style URL fetched every `watchdog.interval` while healthy, so that a
 * coordinator that died, hung or lost its host is noticed by something outside the fleet.
 */
import type { Clock } from '../shared/clock.js';
import type { WatchdogPingConfig } from '../shared/config/coordinator-config.js';
import type { Logger } from '../shared/logger.js';
import { redactUrl } from '../shared/logger.js';
import { checkLiveness, type LivenessCheck } from '../shared/systemd/watchdog.js';
import type { Store } from './store/types.js';
import { every } from './timers.js';

/** The alert evaluation runs every second; this many seconds without one is a stuck loop. */
export const TICK_STALE_MS = 10_000;

/**
 * Healthy when the periodic alert evaluation completed within TICK_STALE_MS and a trivial
 * store call (the one /healthz makes) answers that the store is usable.
 */
export function coordinatorLiveness(deps: { clock: Clock; store: Pick<Store, 'checkWritable'>; lastTickAt: () => number }): LivenessCheck {
  return async () => {
    const age = deps.clock.now() - deps.lastTickAt();
    if (age > TICK_STALE_MS) return `the alert evaluation tick last completed ${Math.round(age / 1000)} s ago`;
    const health = await deps.store.checkWritable();
    return health.ok ? null : `store: ${health.error ?? 'not usable'}`;
  };
}

/** Starts the pings; the returned function stops them (coordinator close). */
export function startDeadMansSwitch(config: WatchdogPingConfig, deps: { clock: Clock; logger: Logger; check: LivenessCheck; fetch?: typeof fetch }): () => void {
  const doFetch = deps.fetch ?? fetch;
  const target = redactUrl(config.pingUrl);
  let lastProblem: string | null = null;
  const report = (problem: string | null) => {
    if (problem === lastProblem) return;
    if (problem) deps.logger.error({ pingUrl: target, problem }, "watchdog: dead-man's switch not pinged");
    else deps.logger.info({ pingUrl: target }, "watchdog: dead-man's switch pinged again");
    lastProblem = problem;
  };
  deps.logger.info({ pingUrl: target, everyMs: config.interval }, "watchdog: dead-man's switch on");
  return every(
    deps.clock,
    config.interval,
    "dead-man's switch",
    deps.logger,
    async () => {
      const problem = await checkLiveness(deps.check, Math.min(config.timeout, config.interval), deps.clock);
      if (problem) return report(problem);
      try {
        const res = await doFetch(config.pingUrl, { method: config.method, signal: AbortSignal.timeout(config.timeout) });
        await res.arrayBuffer();
        report(res.ok ? null : `ping answered HTTP ${res.status}`);
      } catch (err) {
        report(`ping failed: ${(err as Error).message}`);
      }
    },
    { immediate: true },
  );
}
