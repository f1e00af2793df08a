import { requestJsonDated, type Incident, type ServiceHistory } from './api.js';
import { backoffDelay } from './backoff.js';
import { mergeIncidents } from './history-format.js';

/** History changes by the minute: a service's is fetched again this long after the last answer. */
export const HISTORY_REFRESH_MS = 60_000;
/** At most this many history requests at once, so a large fleet does not flood the coordinator. */
export const HISTORY_CONCURRENCY = 4;
/**
 * The first answer covers a day, for the day's incidents; later ones only the last hour. A day
 * of minutes is about 250 KiB of JSON per service, so past this many services the first answer
 * is an hour too (incidents then go back an hour, plus those seen while the page is open).
 */
const FIRST_RANGE = '24h';
const REFRESH_RANGE = '1h';
const DAY_FIRST_UP_TO = 50;
/** Incidents that ended longer ago than this leave the page. */
const INCIDENTS_KEPT_MS = 86_400_000;
/** How often waiting requests are looked at: a due refresh starts at most this late. */
const PUMP_MS = 5000;

/** One service's history as the page last fetched it. */
export interface LoadedHistory {
  history: ServiceHistory;
  /** incidents of the last 24 h as far as the page knows, newest first */
  incidents: Incident[];
  /** the coordinator's clock when it answered (epoch ms) */
  serverNow: number;
  /** true for the service's first answer since the page opened */
  first: boolean;
}

export type HistoryListener = (loaded: LoadedHistory) => void;

interface Entry {
  host: string;
  service: string;
  listener: HistoryListener;
  visible: boolean;
  loaded: LoadedHistory | undefined;
  dueAt: number;
  failures: number;
  inFlight: boolean;
}

export interface FleetIncident extends Incident {
  host: string;
  service: string;
}

/**
 * Fetches `GET /api/v1/services/:host/:service/history` for each service tile, lazily: not
 * with the first render but right after, tiles on screen first, then once a minute each (not
 * per feed delta), at most HISTORY_CONCURRENCY at a time, and not while the tab is hidden.
 * Requests go to the page's origin, so behind viewer tokens the session cookie carries them.
 */
export class HistoryLoader {
  private readonly entries = new Map<string, Entry>();
  private readonly byElement = new WeakMap<Element, Entry>();
  private readonly observer: IntersectionObserver;
  private active = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `changed` is told after each answer, for views over all services (the incidents list). */
  constructor(private readonly changed: () => void) {
    this.observer = new IntersectionObserver((records) => {
      for (const r of records) {
        const entry = this.byElement.get(r.target);
        if (entry) entry.visible = r.isIntersecting;
      }
      this.pump();
    });
    document.addEventListener('visibilitychange', () => this.pump());
  }

  start(): void {
    this.timer ??= setInterval(() => this.pump(), PUMP_MS);
  }

  /** Follows one service's history while its tile `el` exists; returns the way to stop. */
  watch(host: string, service: string, el: Element, listener: HistoryListener): () => void {
    const key = JSON.stringify([host, service]);
    const entry: Entry = { host, service, listener, visible: false, loaded: undefined, dueAt: 0, failures: 0, inFlight: false };
    this.entries.set(key, entry);
    this.byElement.set(el, entry);
    // the observer's first report (on screen or not) starts the fetching
    this.observer.observe(el);
    return () => {
      this.observer.unobserve(el);
      if (this.entries.get(key) === entry) this.entries.delete(key);
      this.changed();
    };
  }

  /** Every known incident of the services followed, newest first. */
  incidents(): FleetIncident[] {
    return [...this.entries.values()]
      .flatMap((e) => (e.loaded?.incidents ?? []).map((i) => ({ ...i, host: e.host, service: e.service })))
      .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  }

  private pump(): void {
    if (document.hidden) return;
    const now = Date.now();
    const due = [...this.entries.values()].filter((e) => !e.inFlight && e.dueAt <= now).sort((a, b) => Number(b.visible) - Number(a.visible) || a.dueAt - b.dueAt);
    for (const entry of due) {
      if (this.active >= HISTORY_CONCURRENCY) return;
      void this.load(entry);
    }
  }

  private async load(entry: Entry): Promise<void> {
    entry.inFlight = true;
    this.active++;
    const range = entry.loaded || this.entries.size > DAY_FIRST_UP_TO ? REFRESH_RANGE : FIRST_RANGE;
    try {
      const path = `/api/v1/services/${encodeURIComponent(entry.host)}/${encodeURIComponent(entry.service)}/history?range=${range}`;
      const { body, date } = await requestJsonDated<ServiceHistory>(path);
      const serverNow = date ?? Date.now();
      const incidents = mergeIncidents(entry.loaded?.incidents ?? [], body.incidents, serverNow - INCIDENTS_KEPT_MS);
      const first = entry.loaded === undefined;
      entry.loaded = { history: body, incidents, serverNow, first };
      entry.failures = 0;
      entry.dueAt = Date.now() + HISTORY_REFRESH_MS;
      entry.listener(entry.loaded);
      this.changed();
    } catch {
      // the live feed already says when the coordinator is gone; the tile keeps its last figures
      entry.failures++;
      entry.dueAt = Date.now() + backoffDelay(entry.failures, 5000, HISTORY_REFRESH_MS);
    } finally {
      entry.inFlight = false;
      this.active--;
      this.pump();
    }
  }
}
