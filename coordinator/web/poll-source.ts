import { ApiError, requestJson, type Alert, type Fleet, type Silence } from './api.js';
import { backoffDelay } from './backoff.js';
import { EventsFollower } from './events-follower.js';
import type { LinkState, LiveKind, LiveListener, LivePatch, LiveSource } from './live.js';

export interface PollIntervals {
  fleetMs: number;
  alertsMs: number;
  eventsMs: number;
}

/** Fleet every second (state changes must show within 2 s); the rest change less often. */
export const DEFAULT_INTERVALS: PollIntervals = { fleetMs: 1000, alertsMs: 3000, eventsMs: 2000 };
/**
 * LiveSource over the REST API: one loop, so that one failure means one "disconnected"
 * state and one backoff instead of three competing ones. Each turn fetches what is due (the
 * fleet every turn, alerts and silences, events when their interval has passed); any failure
 * fails the turn and the next one waits `backoffDelay`. Events are followed with `after=next`
 * so none is fetched twice.
 */
export class PollingSource implements LiveSource {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listener: LiveListener | undefined;
  private failures = 0;
  private nextAlertsAt = 0;
  private nextEventsAt = 0;
  private running = false;
  private inFlight = false;

  constructor(
    private readonly intervals: PollIntervals = DEFAULT_INTERVALS,
    private readonly events = new EventsFollower(),
  ) {}

  start(listener: LiveListener): void {
    this.listener = listener;
    this.running = true;
    listener.link({ kind: 'connecting' });
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  refresh(): void {
    this.nextAlertsAt = 0;
    this.nextEventsAt = 0;
    if (!this.inFlight) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.running) this.timer = setTimeout(() => void this.turn(), ms);
  }

  private async turn(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    const now = Date.now();
    const wantAlerts = now >= this.nextAlertsAt;
    const wantEvents = now >= this.nextEventsAt;
    let delay = this.intervals.fleetMs;
    try {
      const [fleet, alerts, silences, events] = await Promise.all([
        requestJson<Fleet>('/api/v1/fleet'),
        wantAlerts ? requestJson<{ alerts: Alert[] }>('/api/v1/alerts') : undefined,
        wantAlerts ? requestJson<{ silences: Silence[] }>('/api/v1/silences') : undefined,
        wantEvents ? this.events.next() : undefined,
      ]);
      if (!this.running) return;
      const patch: LivePatch = { fleet };
      if (alerts) patch.alerts = alerts.alerts;
      if (silences) patch.silences = silences.silences;
      if (events?.length) patch.events = events;
      if (wantAlerts) this.nextAlertsAt = now + this.intervals.alertsMs;
      if (wantEvents) this.nextEventsAt = now + this.intervals.eventsMs;
      this.failures = 0;
      this.listener?.data(patch);
      this.listener?.link({ kind: 'live', at: Date.now(), source: 'polling' });
    } catch (err) {
      if (!this.running) return;
      this.failures++;
      delay = backoffDelay(this.failures);
      this.listener?.link(linkFailure(err, this.failures, Date.now() + delay));
    } finally {
      this.inFlight = false;
    }
    this.schedule(delay);
  }
}

export function linkFailure(err: unknown, failures: number, retryAt: number, source: LiveKind = 'polling'): LinkState {
  if (err instanceof ApiError && err.status === 401) return { kind: 'login' };
  const error = err instanceof ApiError ? `HTTP ${err.status}: ${err.message}` : err instanceof Error && err.name === 'TimeoutError' ? 'no answer' : 'unreachable';
  return { kind: 'retrying', error, retryAt, failures, source };
}
