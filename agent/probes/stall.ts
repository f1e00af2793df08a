import type { MetricsSample, StallObservation } from './types.js';

/**
 * Busy or hung? A server with requests running or waiting must move its progress counters
 * (tokens generated, requests finished); when they stand still, the time since the first
 * such sample is how long it has been stalled (docs/probing.md: the `/health` 200 while generation
 * hangs that every engine has reported). Pure: it only sees the samples it is given.
 */
export class ProgressTracker {
  private previous: MetricsSample | undefined;
  private stalledSince: number | undefined;

  observe(sample: MetricsSample): StallObservation {
    const previous = this.previous;
    this.previous = sample;
    const queued = sample.running + sample.waiting > 0;
    if (!previous) return this.reset(queued);
    if (sample.progress > previous.progress) return this.reset(queued, true);
    // a counter going down means the server restarted: a fresh start, not progress
    if (sample.progress < previous.progress || !queued) return this.reset(queued);
    this.stalledSince ??= sample.at;
    return { progressed: false, queued, stalledForMs: Math.max(0, sample.at - this.stalledSince) };
  }

  private reset(queued: boolean, progressed = false): StallObservation {
    this.stalledSince = undefined;
    return { progressed, queued, stalledForMs: 0 };
  }
}
