/**
 * Keeps systemd's watchdog (WatchdogSec=) fed only while the daemon really works. The ping
 * timer runs on the event loop, so a wedged loop or a SIGSTOP stops it by itself; before each
 * ping the daemon's own `check` must also say its main loop still turns (an agent round or a
 * coordinator tick completed recently, a store read answers). A check that does not answer
 * within the ping interval counts as a failure: a hung store must not keep the daemon alive.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SdNotifier } from './notify.js';

/** null when healthy, else why not (logged once per change) */
export type LivenessCheck = () => string | null | Promise<string | null>;

export interface DaemonNotify {
  /** STOPPING=1 and no more pings; call before the shutdown work starts */
  stopping(): Promise<void>;
}

/**
 * READY=1 now, then WATCHDOG=1 every watchdogPingMs while `check` passes. Does nothing at all
 * when the daemon runs without NOTIFY_SOCKET.
 */
export async function announceDaemon(notifier: SdNotifier, deps: { clock: Clock; logger: Logger; check: LivenessCheck }): Promise<DaemonNotify> {
  if (!notifier.enabled) return { stopping: async () => {} };
  if (!(await notifier.notify('READY=1'))) deps.logger.warn('systemd-notify READY=1 failed: the unit (Type=notify) will time out starting; is systemd-notify installed, and NotifyAccess=all set?');
  const stopPings = notifier.watchdogPingMs ? startWatchdogPings(notifier, notifier.watchdogPingMs, deps) : () => {};
  return {
    async stopping() {
      stopPings();
      await notifier.notify('STOPPING=1');
    },
  };
}

export function startWatchdogPings(notifier: Pick<SdNotifier, 'notify'>, everyMs: number, deps: { clock: Clock; logger: Logger; check: LivenessCheck }): () => void {
  const { clock, logger } = deps;
  let handle: TimerHandle | undefined;
  let stopped = false;
  let lastProblem: string | null = null;
  const tick = async () => {
    const problem = await checkLiveness(deps.check, everyMs, clock);
    if (problem !== lastProblem) {
      if (problem) logger.error({ problem }, 'watchdog: not pinging systemd, the daemon is stuck; WatchdogSec= will restart it');
      else logger.info('watchdog: healthy again, pinging systemd');
      lastProblem = problem;
    }
    if (!problem && !stopped) await notifier.notify('WATCHDOG=1');
    if (!stopped) handle = clock.setTimeout(() => void tick(), everyMs);
  };
  logger.info({ everyMs }, 'watchdog: pinging systemd while healthy');
  void tick();
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}

/** Runs `check`, bounded: one that does not answer within `ms` is a failure, as is one that throws. */
export async function checkLiveness(check: LivenessCheck, ms: number, clock: Clock): Promise<string | null> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = clock.setTimeout(() => resolve(`liveness check did not answer within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (err) {
    return `liveness check failed: ${(err as Error).message}`;
  } finally {
    clock.clearTimeout(timer);
  }
}
