import { requestJson, type FleetEvent } from './api.js';

/** How many events the first request fetches: the page shows recent history, not all of it. */
export const INITIAL_EVENTS = 200;

/**
 * Follows `/api/v1/events`: the latest events at first, then whatever arrived after the last
 * answer (`after=next`), so none is fetched twice. Shared by both live sources so that a
 * switch from the feed to polling keeps its place.
 */
export class EventsFollower {
  private cursor: string | null = null;

  async next(): Promise<FleetEvent[]> {
    const path = this.cursor ? `/api/v1/events?after=${encodeURIComponent(this.cursor)}&limit=1000` : `/api/v1/events?limit=${INITIAL_EVENTS}`;
    const page = await requestJson<{ events: FleetEvent[]; next: string | null }>(path);
    // `next` is null for an empty answer: keep following from where we were
    if (page.next) this.cursor = page.next;
    return page.events;
  }
}
