import type { FleetEvent } from './api.js';
import { h, timeEl } from './dom.js';
import { matchesFilter, stateInfo } from './format.js';

/** How many events the page keeps and shows, newest first. */
const KEEP = 200;

/** Recent events, newest first, with the filter applied. */
export class EventsView {
  private events: FleetEvent[] = [];
  private filter = '';

  constructor(private readonly root: HTMLElement) {}

  append(events: FleetEvent[]): void {
    this.events = this.events.concat(events).slice(-KEEP);
    this.render();
  }

  setFilter(filter: string): void {
    if (filter === this.filter) return;
    this.filter = filter;
    this.render();
  }

  private render(): void {
    const shown = this.events.filter((e) => matchesFilter(this.filter, e.agentId, e.service, e.type, e.reason, e.to)).reverse();
    if (shown.length === 0) {
      this.root.replaceChildren(h('p', { class: 'empty' }, this.events.length ? 'No event matches the filter.' : 'No events yet.'));
      return;
    }
    this.root.replaceChildren(
      h(
        'ol',
        { class: 'events' },
        ...shown.map((e) =>
          h('li', { 'data-type': e.type }, timeEl(e.at, 'when'), ' ', h('strong', {}, e.agentId), e.service ? ` ${e.service}` : '', ' ', h('code', {}, e.type), e.from && e.to ? ` ${stateInfo(e.from).word} → ${stateInfo(e.to).word}` : '', e.reason ? ` — ${e.reason}` : ''),
        ),
      ),
    );
  }
}
