import { h } from './dom.js';
import { matchesFilter, stateInfo } from './format.js';
import { durationText } from './history-format.js';
import { relTime } from './history-view.js';
import type { FleetIncident } from './history-loader.js';

/** The fleet list stays short: the newest incidents; a tile's history panel has its own. */
const SHOWN = 20;

/**
 * Recent incidents across the fleet (the last 24 h of each service whose history the page
 * loaded), newest first: service, start, end or "ongoing", duration, worst state, restarts.
 * Re-rendered only when the list or the filter changed.
 */
export class IncidentsView {
  private signature = '';

  constructor(private readonly root: HTMLElement) {}

  update(incidents: FleetIncident[], filter: string): void {
    const shown = incidents.filter((i) => matchesFilter(filter, i.host, i.service, i.worst)).slice(0, SHOWN);
    const signature = JSON.stringify([shown, filter, incidents.length === 0]);
    if (signature === this.signature) return;
    this.signature = signature;
    if (shown.length === 0) {
      this.root.replaceChildren(h('p', { class: 'empty' }, incidents.length ? 'No incident matches the filter.' : 'No incident in the last 24 h.'));
      return;
    }
    const rows = shown.map((i) => {
      const info = stateInfo(i.worst);
      return h(
        'tr',
        { 'data-incident': `${i.host}/${i.service}`, 'data-ongoing': String(i.endedAt === null) },
        h('th', { scope: 'row' }, `${i.host} / ${i.service}`),
        h('td', {}, relTime(i.startedAt)),
        h('td', {}, i.endedAt === null ? h('strong', {}, 'ongoing') : relTime(i.endedAt)),
        h('td', {}, i.endedAt === null ? '' : durationText(i.durationSeconds)),
        h('td', {}, h('span', { class: `badge tone-${info.tone}` }, `${info.mark} ${info.word}`)),
        h('td', {}, String(i.restarts)),
      );
    });
    this.root.replaceChildren(
      h(
        'table',
        { class: 'list incidents' },
        h('thead', {}, h('tr', {}, ...['service', 'started', 'ended', 'lasted', 'worst', 'restarts'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    );
  }
}
