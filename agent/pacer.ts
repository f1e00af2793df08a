import type { Clock, TimerHandle } from '../shared/clock.js';

/**
 * Wakes callers on a shared time grid: a callback asked for "the next multiple of
 * `period`" (milliseconds since the epoch) shares one timer with every other callback due
 * at the same instant. Eight services probed every second then cost one wake-up per second
 * instead of eight scattered ones, and their probes go out back to back while the process
 * is warm: at one probe per server per second, the wake-up and the cold caches cost more
 * than the probe itself (bench/README.md, footprint).
 *
 * The grid is shifted by `offsetMs`, which the agent picks at random when it starts: every
 * agent of a fleet on the same wall-clock grid would send its results to the coordinator at
 * the same instant each second.
 */
export class Pacer {
  private readonly slots = new Map<number, { timer: TimerHandle; calls: Set<() => void> }>();

  constructor(
    private readonly clock: Clock,
    private readonly offsetMs = 0,
  ) {}

  /** Calls `fn` at the next grid point of `period` strictly after now; returns a canceller. */
  atNext(period: number, fn: () => void): () => void {
    const now = this.clock.now();
    const due = (Math.floor((now - this.offsetMs) / period) + 1) * period + this.offsetMs;
    let slot = this.slots.get(due);
    if (!slot) {
      const calls = new Set<() => void>();
      const timer = this.clock.setTimeout(() => {
        this.slots.delete(due);
        for (const call of calls) call();
      }, due - now);
      slot = { timer, calls };
      this.slots.set(due, slot);
    }
    // a wrapper, so the same function scheduled twice is two calls
    const call = () => fn();
    slot.calls.add(call);
    const owner = slot;
    return () => {
      owner.calls.delete(call);
      if (owner.calls.size === 0 && this.slots.get(due) === owner) {
        this.clock.clearTimeout(owner.timer);
        this.slots.delete(due);
      }
    };
  }

  /** Cancels everything (agent shutdown). */
  stop(): void {
    for (const slot of this.slots.values()) this.clock.clearTimeout(slot.timer);
    this.slots.clear();
  }
}
