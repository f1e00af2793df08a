import type { Incident } from './api.js';
import { h, setAttr, setText, timeEl } from './dom.js';
import { clockTime, relativeTime, stateInfo } from './format.js';
import { durationText, heartbeat, heartbeatSummary, minuteDetail, uptimeText, type HeartbeatMinute } from './history-format.js';
import type { LoadedHistory } from './history-loader.js';

/** How many one-minute segments a tile's heartbeat bar shows. */
export const HEARTBEAT_MINUTES = 60;
/** How many incidents a tile's history panel lists. */
const TILE_INCIDENTS = 5;

/** A short mark per kind of minute, for the bar's tooltips: the shape and height say it too. */
const KIND_LABEL: Record<HeartbeatMinute['kind'], string> = { ok: '✓ ok', failures: '! with failures', down: '✕ not up', none: '· no data' };

/**
 * A tile's history: uptime over 24 h (7 d and 30 d in its title and in the panel it opens),
 * the heartbeat bar of the last hour with its summary in words, and the service's incidents.
 * The bar is decorative for screen readers: the summary next to it says what it shows.
 */
export class TileHistory {
  readonly el: HTMLElement;
  private readonly uptime: HTMLElement;
  private readonly windows: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly incidents: HTMLElement;
  private readonly details: HTMLDetailsElement;

  constructor() {
    this.uptime = h('strong', { class: 'uptime-24h' }, '…');
    this.windows = h('span', { class: 'uptime-windows' }, 'loading history…');
    this.bar = h('span', { class: 'heartbeat', 'aria-hidden': 'true' });
    this.summary = h('span', { class: 'heartbeat-summary' }, 'history loading…');
    this.incidents = h('div', { class: 'tile-incidents' });
    this.details = h('details', { class: 'history' }, h('summary', {}, 'uptime 24 h ', this.uptime), h('p', {}, this.windows), this.incidents);
    this.el = h('div', { class: 'tile-history', 'data-history': 'loading' }, this.details, h('p', { class: 'heartbeat-line' }, this.bar, ' ', this.summary));
  }

  update(loaded: LoadedHistory): void {
    const { history, serverNow } = loaded;
    const up = history.uptime;
    setText(this.uptime, uptimeText(up['24h']));
    const windows = `7 d: ${uptimeText(up['7d'])} · 30 d: ${uptimeText(up['30d'])}`;
    setText(this.windows, `uptime ${windows}`);
    setAttr(this.details.querySelector('summary')!, 'title', `uptime ${windows}`);
    const minutes = heartbeat(history.buckets, serverNow, HEARTBEAT_MINUTES);
    this.drawBar(minutes, serverNow);
    setText(this.summary, heartbeatSummary(minutes));
    this.renderIncidents(loaded.incidents);
    setAttr(this.el, 'data-history', 'loaded');
  }

  private drawBar(minutes: HeartbeatMinute[], now: number): void {
    const cells = [...this.bar.children] as HTMLElement[];
    minutes.forEach((m, i) => {
      let cell = cells[i];
      if (!cell) this.bar.append((cell = h('span', {})));
      setAttr(cell, 'class', `hb hb-${m.kind}`);
      setAttr(cell, 'data-kind', m.kind);
      setAttr(cell, 'title', `${clockTime(new Date(m.minute).toISOString(), now)}: ${KIND_LABEL[m.kind]} — ${minuteDetail(m)}`);
    });
    for (const extra of cells.slice(minutes.length)) extra.remove();
  }

  private renderIncidents(incidents: Incident[]): void {
    if (incidents.length === 0) {
      this.incidents.replaceChildren(h('p', { class: 'empty' }, 'No incident in the last 24 h.'));
      return;
    }
    this.incidents.replaceChildren(h('ul', { class: 'plain incidents', 'aria-label': 'incidents' }, ...incidents.slice(0, TILE_INCIDENTS).map((i) => h('li', { 'data-ongoing': String(i.endedAt === null) }, ...incidentParts(i)))));
  }
}

/** "✕ down, started 5 min ago, lasted 42 s, restarts: 1" or "…, ongoing". */
export function incidentParts(i: Incident): (Node | string)[] {
  const info = stateInfo(i.worst);
  const restarts = i.restarts === 0 ? '' : `, restarts: ${i.restarts}`;
  return [`${info.mark} ${info.word}, started `, relTime(i.startedAt), i.endedAt === null ? ', ongoing' : `, lasted ${durationText(i.durationSeconds)}`, restarts];
}

/**
 * A `<time>` that says "3 min ago" from the start: the page's once-a-second refresh keeps it
 * current, but a list rebuilt by an answer must not show blanks until then.
 */
export function relTime(iso: string): HTMLTimeElement {
  const el = timeEl(iso);
  el.textContent = relativeTime(iso, Date.now());
  return el;
}
