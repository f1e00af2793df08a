import { requestJson, type FleetEvent, type Gpu, type Host, type Service } from './api.js';
import { domId, h, setAttr, setText, setTime, timeEl } from './dom.js';
import { clockTime, latency, matchesFilter, mebibytes, stateInfo } from './format.js';
import { latencySeed } from './history-format.js';
import type { HistoryLoader, LoadedHistory } from './history-loader.js';
import { TileHistory } from './history-view.js';
import { MaintenanceControls } from './maintenance-view.js';
import type { RestartRequest } from './restart-dialog.js';
import { sparkline } from './sparkline.js';
import { adminToken } from './token.js';

/** How many probe latencies a tile's sparkline shows. */
const LATENCY_SAMPLES = 40;

/** What the host cards may ask of the page. */
export interface HostActions {
  announce(text: string): void;
  /** confirm and start a restart (restart-dialog.ts) */
  restart(req: RestartRequest): void;
  /** a tile's "select" box changed */
  selectionChanged(): void;
  /** fetches each tile's history (history-loader.ts) */
  history: HistoryLoader;
}

/** A service picked for a restart. */
export interface ServiceRef {
  host: string;
  service: string;
}

/**
 * Hosts as groups: connection banner, GPU figures and one tile per service. Elements are
 * kept per host and per service and only their changed parts are touched, so focus, open
 * evidence panels and screen-reader position survive the once-a-second updates.
 */
export class HostsView {
  private readonly cards = new Map<string, HostCard>();

  constructor(
    private readonly root: HTMLElement,
    private readonly actions: HostActions,
  ) {}

  /** The checked services that the filter shows: a hidden tile is never restarted unseen. */
  selection(): ServiceRef[] {
    return [...this.cards.values()].flatMap((c) => (c.el.hidden ? [] : c.selected()));
  }

  /** Checks (or clears) every shown tile's box: "the current filter" as a selection. */
  selectShown(on: boolean): void {
    for (const card of this.cards.values()) if (!card.el.hidden) card.selectAll(on);
    this.actions.selectionChanged();
  }

  update(hosts: Host[], filter: string, now: number): void {
    const seen = new Set<string>();
    let previous: HostCard | undefined;
    for (const host of hosts) {
      seen.add(host.id);
      let card = this.cards.get(host.id);
      if (!card) {
        card = new HostCard(host.id, this.actions);
        this.cards.set(host.id, card);
      }
      card.update(host, filter, now);
      // keep the server's order (sorted by id) without re-appending what is already in place
      const want = previous ? previous.el.nextElementSibling : this.root.firstElementChild;
      if (want !== card.el) {
        if (previous) previous.el.after(card.el);
        else this.root.prepend(card.el);
      }
      previous = card;
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.remove();
        this.cards.delete(id);
      }
    }
    if (hosts.length === 0 && !this.root.querySelector('.empty')) this.root.append(h('p', { class: 'empty' }, 'No agents have connected yet.'));
    if (hosts.length > 0) this.root.querySelector('.empty')?.remove();
  }
}

class HostCard {
  readonly el: HTMLElement;
  private readonly conn: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly bannerTime: HTMLTimeElement;
  private readonly bannerClock: HTMLElement;
  private readonly labels: HTMLElement;
  private readonly gpus: HTMLElement;
  private readonly tiles: HTMLElement;
  private readonly services = new Map<string, ServiceTile>();
  private readonly maintenance: MaintenanceControls;
  private connected: boolean | undefined;

  constructor(
    private readonly id: string,
    private readonly actions: HostActions,
  ) {
    this.maintenance = new MaintenanceControls(id, actions.announce);
    const restart = h('button', { type: 'button', 'aria-label': `Restart every service on ${id}` }, 'Restart host…');
    restart.addEventListener('click', () => actions.restart({ label: `every service on ${id}`, selectors: [{ hosts: [id] }] }));
    const headingId = domId('host', id);
    this.conn = h('span', { class: 'conn' });
    this.labels = h('span', { class: 'labels' });
    this.bannerClock = h('span');
    this.bannerTime = timeEl(null);
    this.banner = h('p', { class: 'banner offline', role: 'alert', hidden: true }, h('strong', {}, 'Agent offline'), ' since ', this.bannerClock, ' (', this.bannerTime, '). The states below are the last ones it reported.');
    this.gpus = h('ul', { class: 'gpus', 'aria-label': `GPUs of ${id}` });
    this.tiles = h('ul', { class: 'tiles', 'aria-label': `services of ${id}` });
    this.el = h(
      'article',
      { class: 'host', 'data-host': id, 'aria-labelledby': headingId },
      h('header', {}, h('h3', { id: headingId }, id), this.conn, this.labels, h('span', { class: 'host-actions' }, restart, ' ', this.maintenance.button)),
      this.banner,
      this.maintenance.banner,
      this.maintenance.formSlot,
      this.gpus,
      this.tiles,
    );
  }

  selected(): ServiceRef[] {
    return [...this.services.values()].filter((t) => t.selected && !t.el.hidden).map((t) => ({ host: this.id, service: t.name }));
  }

  remove(): void {
    this.el.remove();
    for (const tile of this.services.values()) tile.remove();
  }

  selectAll(on: boolean): void {
    for (const t of this.services.values()) if (!t.el.hidden) t.selected = on;
  }

  update(host: Host, filter: string, now: number): void {
    const hostMatches = matchesFilter(filter, host.id, ...Object.entries(host.labels).map(([k, v]) => `${k}=${v}`));
    let anyService = false;
    if (this.connected !== undefined && this.connected !== host.connected) this.actions.announce(`${host.id}: agent ${host.connected ? 'connected again' : 'offline'}`);
    this.connected = host.connected;
    setText(this.conn, host.connected ? '● connected' : host.retired ? '○ retired' : '○ offline');
    setAttr(this.conn, 'class', `conn ${host.connected ? 'online' : 'offline'}`);
    setAttr(this.el, 'data-connected', String(host.connected));
    setText(this.labels, Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(' '));
    this.banner.hidden = host.connected;
    if (!host.connected) {
      setText(this.bannerClock, host.lastSeen ? clockTime(host.lastSeen, now) : 'before this coordinator started');
      setTime(this.bannerTime, host.lastSeen);
    }
    setAttr(this.el, 'data-maintenance', String(host.maintenance !== null));
    this.maintenance.update(host.maintenance, now);
    this.updateGpus(host.gpu?.gpus ?? []);

    const seen = new Set<string>();
    for (const s of host.services) {
      seen.add(s.name);
      let tile = this.services.get(s.name);
      if (!tile) {
        tile = new ServiceTile(this.id, s.name, this.actions);
        this.services.set(s.name, tile);
        this.tiles.append(tile.el);
      }
      const previous = tile.state;
      tile.update(s);
      if (previous !== undefined && previous !== s.state) this.actions.announce(`${this.id} ${s.name}: ${stateInfo(previous).word} → ${stateInfo(s.state).word}${s.reason ? ` (${s.reason})` : ''}`);
      const visible = hostMatches || matchesFilter(filter, s.name, s.kind, s.state, s.reason);
      tile.el.hidden = !visible;
      anyService ||= visible;
    }
    for (const [name, tile] of this.services) {
      if (!seen.has(name)) {
        tile.remove();
        this.services.delete(name);
      }
    }
    this.el.hidden = !hostMatches && !anyService;
  }

  private updateGpus(gpus: Gpu[]): void {
    this.gpus.hidden = gpus.length === 0;
    const text = gpus.map(gpuLine);
    const items = [...this.gpus.children] as HTMLElement[];
    while (items.length > gpus.length) items.pop()!.remove();
    gpus.forEach((g, i) => {
      let li = items[i];
      if (!li) {
        li = h('li', {}, h('span', { class: 'gpu-name' }), h('meter', { min: 0, max: 100, 'aria-label': `GPU ${g.index} utilisation` }), h('span', { class: 'gpu-figures' }));
        this.gpus.append(li);
      }
      setAttr(li, 'class', g.healthy === false ? 'gpu unhealthy' : 'gpu');
      setText(li.children[0]!, `GPU ${g.index}${g.name ? ` ${g.name}` : ''}`);
      const meter = li.children[1] as HTMLMeterElement;
      meter.hidden = g.utilizationPct == null;
      if (g.utilizationPct != null) meter.value = g.utilizationPct;
      setText(li.children[2]!, text[i]!);
    });
  }
}

function gpuLine(g: Gpu): string {
  const parts: string[] = [];
  if (g.utilizationPct != null) parts.push(`${Math.round(g.utilizationPct)} % busy`);
  if (g.memoryUsedMiB != null && g.memoryTotalMiB != null) parts.push(`memory ${mebibytes(g.memoryUsedMiB)} / ${mebibytes(g.memoryTotalMiB)}`);
  if (g.temperatureC != null) parts.push(`${Math.round(g.temperatureC)} °C`);
  if (g.eccUncorrected != null) parts.push(`${g.eccUncorrected} uncorrected ECC error${g.eccUncorrected === 1 ? '' : 's'}`);
  if (g.healthy === false) parts.push('unhealthy');
  if (g.warnings?.length) parts.push(g.warnings.join('; '));
  return parts.join(' · ');
}

class ServiceTile {
  readonly el: HTMLLIElement;
  state: string | undefined;
  private readonly badge: HTMLElement;
  private readonly reason: HTMLElement;
  private readonly latency: HTMLElement;
  private readonly restarts: HTMLElement;
  private readonly restartTime: HTMLTimeElement;
  private readonly evidenceButton: HTMLButtonElement;
  private readonly evidence: HTMLElement;
  private readonly spark = sparkline();
  private readonly samples: number[] = [];
  private lastProbeAt: string | null = null;
  private readonly select: HTMLInputElement;
  private readonly history: TileHistory;
  private readonly unwatch: () => void;

  constructor(
    private readonly host: string,
    readonly name: string,
    actions: HostActions,
  ) {
    const evidenceId = domId('evidence', host, name);
    this.badge = h('span', { class: 'badge' });
    this.reason = h('p', { class: 'reason' });
    this.latency = h('span', { class: 'latency' });
    this.restarts = h('span');
    this.restartTime = timeEl(null);
    this.evidenceButton = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'aria-controls': evidenceId }, 'Last restart evidence');
    this.evidence = h('div', { class: 'evidence', id: evidenceId, hidden: true });
    this.evidenceButton.addEventListener('click', () => void this.toggleEvidence());
    const selectId = domId('select', host, name);
    this.select = h('input', { type: 'checkbox', id: selectId, class: 'select' });
    this.select.addEventListener('change', () => actions.selectionChanged());
    const restart = h('button', { type: 'button', 'aria-label': `Restart ${name} on ${host}` }, 'Restart…');
    restart.addEventListener('click', () => actions.restart({ label: `${name} on ${host}`, selectors: [{ hosts: [host], services: [name] }] }));
    this.history = new TileHistory();
    this.el = h(
      'li',
      { class: 'tile', 'data-service': name },
      h('div', { class: 'tile-head' }, h('h4', {}, name), this.badge),
      this.reason,
      h('p', { class: 'probe' }, 'last probe ', this.latency, ' ', this.spark.el),
      this.history.el,
      h('p', { class: 'restarts' }, this.restarts, this.restartTime, ' ', this.evidenceButton),
      this.evidence,
      h('p', { class: 'tile-actions' }, this.select, ' ', h('label', { for: selectId, 'aria-label': `Select ${name} on ${host}` }, 'select'), ' ', restart),
    );
    this.unwatch = actions.history.watch(host, name, this.el, (loaded) => this.showHistory(loaded));
  }

  remove(): void {
    this.el.remove();
    this.unwatch();
  }

  private showHistory(loaded: LoadedHistory): void {
    this.history.update(loaded);
    // the sparkline starts from the last minutes' slowest probes instead of empty
    if (loaded.first) {
      this.samples.unshift(...latencySeed(loaded.history.buckets, LATENCY_SAMPLES));
      this.samples.splice(0, Math.max(0, this.samples.length - LATENCY_SAMPLES));
      this.spark.draw(this.samples);
    }
  }

  get selected(): boolean {
    return this.select.checked;
  }

  set selected(on: boolean) {
    this.select.checked = on;
  }

  update(s: Service): void {
    this.state = s.state;
    const info = stateInfo(s.state);
    setAttr(this.el, 'data-state', s.state);
    setAttr(this.el, 'class', `tile tone-${info.tone}`);
    setText(this.badge, `${info.mark} ${info.word}`);
    setAttr(this.badge, 'class', `badge tone-${info.tone}`);
    setText(this.reason, s.reason || (s.state === 'healthy' ? 'answers and generates' : ''));
    setAttr(this.reason, 'title', s.url);
    setText(this.latency, s.lastProbe.at ? `${latency(s.lastProbe.latencyMs)}${s.lastProbe.ok === false ? ' (failed)' : ''}` : 'none yet');
    if (s.lastProbe.at && s.lastProbe.at !== this.lastProbeAt && s.lastProbe.latencyMs !== null) {
      this.samples.push(s.lastProbe.latencyMs);
      if (this.samples.length > LATENCY_SAMPLES) this.samples.shift();
      this.spark.draw(this.samples);
    }
    this.lastProbeAt = s.lastProbe.at;
    const r = s.restarts;
    setText(this.restarts, r.count === 0 ? 'no restarts' : `${r.count} restart${r.count === 1 ? '' : 's'}, last ${r.lastOutcome ?? ''} `);
    this.restartTime.hidden = r.count === 0;
    setTime(this.restartTime, r.lastAt);
    this.evidenceButton.hidden = r.count === 0;
  }

  private async toggleEvidence(): Promise<void> {
    const open = this.evidence.hidden;
    this.evidence.hidden = !open;
    this.evidenceButton.setAttribute('aria-expanded', String(open));
    if (!open) return;
    this.evidence.replaceChildren(h('p', {}, 'Loading…'));
    try {
      const q = new URLSearchParams({ host: this.host, service: this.name, type: 'restart_started', limit: '1' });
      const { events } = await requestJson<{ events: FleetEvent[] }>(`/api/v1/events?${q}`, { token: adminToken() });
      this.evidence.replaceChildren(...renderEvidence(events[0]));
    } catch (err) {
      this.evidence.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load the evidence: ${(err as Error).message}`));
    }
  }
}

function renderEvidence(event: FleetEvent | undefined): Node[] {
  if (!event) return [h('p', {}, 'No restart of this service is stored.')];
  const data = event.data ?? {};
  const head = h('p', {}, 'Restart started ', timeEl(event.at), event.reason ? ` because: ${event.reason}` : '');
  if (data.evidenceOmitted) return [head, h('p', {}, 'The coordinator shows restart evidence (journal, unit properties) only to token holders: set the admin token above, or log in.')];
  const evidence = data.evidence;
  if (evidence === undefined) return [head, h('p', {}, 'The agent attached no evidence to this restart.')];
  const blocks: Node[] = [head];
  const entries = typeof evidence === 'object' && evidence !== null ? Object.entries(evidence) : [['evidence', evidence] as const];
  for (const [key, value] of entries) {
    blocks.push(h('h5', {}, key), h('pre', { tabindex: 0 }, typeof value === 'string' ? value : JSON.stringify(value, null, 2)));
  }
  return blocks;
}
