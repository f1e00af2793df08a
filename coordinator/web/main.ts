import type { Alert, Fleet, Silence } from './api.js';
import { AlertsView } from './alerts-view.js';
import { setText } from './dom.js';
import { EventsView } from './events-view.js';
import { relativeTime } from './format.js';
import { HistoryLoader } from './history-loader.js';
import { HostsView } from './hosts-view.js';
import { IncidentsView } from './incidents-view.js';
import { LinkStatus } from './link-status.js';
import { RestartDialog } from './restart-dialog.js';
import { RestartJobsView } from './restart-jobs-view.js';
import { selectorsFor } from './selection.js';
import type { LiveSource } from './live.js';
import { FeedSource } from './feed-source.js';
import { SilencesView } from './silences-view.js';
import { setupTheme } from './theme.js';
import { adminToken, setAdminToken } from './token.js';

/**
 * The dashboard's entry point. The server-rendered table (#static) is what a browser without
 * JavaScript keeps; with JavaScript it makes way for the live views in #app.
 */
function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const announcer = byId('announcer');
/** Polite announcements, one at a time: a screen reader reads the region's new text. */
function announce(text: string): void {
  announcer.textContent = text;
}

const jobs = new RestartJobsView(byId('jobs'), announce);
const restartDialog = new RestartDialog(byId<HTMLDialogElement>('restart-dialog'), (id, label) => jobs.follow(id, label), announce);
const incidents = new IncidentsView(byId('incidents'));
const historyLoader = new HistoryLoader(() => incidents.update(historyLoader.incidents(), filterText()));
const hosts = new HostsView(byId('hosts'), { announce, restart: (req) => void restartDialog.open(req), selectionChanged: () => showSelection(), history: historyLoader });
const events = new EventsView(byId('events'));
const source: LiveSource = new FeedSource();
const silencesView = new SilencesView(byId('silences'), byId('silence-form'), { changed: () => source.refresh(), announce });
const alertsView = new AlertsView(byId('alerts'), (alert) => silencesView.openForm(alert));
const link = new LinkStatus(byId('link'));
const filterInput = byId<HTMLInputElement>('filter');
const summary = byId('summary');

let fleet: Fleet | undefined;
let alerts: Alert[] = [];
let silences: Silence[] = [];

function filterText(): string {
  return filterInput.value.trim().toLowerCase();
}

function render(): void {
  const now = Date.now();
  const filter = filterText();
  if (fleet) {
    hosts.update(fleet.hosts, filter, now);
    const services = fleet.hosts.flatMap((h) => h.services);
    const bad = services.filter((s) => s.state !== 'healthy').length;
    const offline = fleet.hosts.filter((h) => !h.connected).length;
    setText(summary, `${fleet.hosts.length} host${fleet.hosts.length === 1 ? '' : 's'} (${offline} offline), ${services.length} services, ${bad} not healthy, ${alerts.filter((a) => a.state === 'firing').length} alerts firing`);
  }
  alertsView.update(alerts, silences, filter);
  incidents.update(historyLoader.incidents(), filter);
  silencesView.update(silences, filter);
  events.setFilter(filter);
  showSelection();
  refreshTimes(now);
}

/** Every `<time data-rel>` says how long ago, kept current without re-rendering its view. */
function refreshTimes(now: number): void {
  for (const el of document.querySelectorAll<HTMLTimeElement>('time[data-rel]')) setText(el, relativeTime(el.dateTime, now));
}

const restartSelected = byId<HTMLButtonElement>('restart-selected');

function showSelection(): void {
  const n = hosts.selection().length;
  setText(byId('selection-count'), n === 0 ? 'none selected' : `${n} service${n === 1 ? '' : 's'} selected`);
  restartSelected.disabled = n === 0;
}

function setupSelection(): void {
  byId('select-shown').addEventListener('click', () => hosts.selectShown(true));
  byId('select-none').addEventListener('click', () => hosts.selectShown(false));
  restartSelected.addEventListener('click', () => {
    const picked = hosts.selection();
    if (picked.length) void restartDialog.open({ label: `${picked.length} selected service${picked.length === 1 ? '' : 's'}`, selectors: selectorsFor(picked) });
  });
  showSelection();
}

function setupToken(): void {
  const form = byId<HTMLFormElement>('token-form');
  const input = byId<HTMLInputElement>('token-input');
  const forget = byId<HTMLButtonElement>('token-forget');
  const state = byId('token-state');
  const show = () => {
    const has = adminToken() !== null;
    setText(state, has ? 'Admin token set for this tab.' : 'No admin token: silences, restarts and maintenance are read-only.');
    forget.hidden = !has;
    input.value = '';
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim()) setAdminToken(input.value.trim());
    show();
    announce(adminToken() ? 'Admin token kept for this tab' : 'No admin token given');
  });
  forget.addEventListener('click', () => {
    setAdminToken(null);
    show();
    announce('Admin token forgotten');
  });
  show();
}

byId('static').hidden = true;
byId('app').hidden = false;
setupTheme(byId<HTMLButtonElement>('theme'));
setupToken();
setupSelection();
historyLoader.start();
filterInput.addEventListener('input', render);
setInterval(() => {
  link.tick();
  refreshTimes(Date.now());
}, 1000);

source.start({
  data(patch) {
    if (patch.fleet) fleet = patch.fleet;
    if (patch.alerts) alerts = patch.alerts;
    if (patch.silences) silences = patch.silences;
    if (patch.events) events.append(patch.events);
    render();
    if (!document.body.dataset.ready) {
      // what bench/dashboard.ts reads as "time to first render": one entry per page load
      performance.mark('llmh-first-render');
      document.body.dataset.ready = 'true';
    }
  },
  link: (state) => link.set(state),
});
