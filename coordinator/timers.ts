import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

/**
 * Runs `fn` every `ms` on the injected clock (so tests advance a FakeClock instead of
 * sleeping). The next run is scheduled after the current one finishes: a slow run delays
 * the next instead of overlapping it. Errors are logged, never thrown into the timer.
 */
export function every(clock: Clock, ms: number, name: string, logger: Logger, fn: () => void | Promise<void>, options: { immediate?: boolean } = {}): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      logger.error({ task: name, err: (err as Error)?.message }, 'periodic task failed');
    }
    if (!stopped) handle = clock.setTimeout(() => void run(), ms);
  };
  handle = clock.setTimeout(() => void run(), options.immediate ? 0 : ms);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
