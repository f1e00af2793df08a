import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetView } from '../fleet/types.js';
import { sendHtml } from './respond.js';
import type { Router } from './router.js';
import { loadUiAssets, registerUiAssets, type UiAsset } from './ui-assets.js';

/**
 * `GET /`: the operator's dashboard. The server renders the fleet table into the page, so a
 * browser without JavaScript still sees the fleet (and reloads it every few seconds); the
 * module /ui/main.js then replaces the table with the live views (coordinator/web/).
 */
export function registerStatusPage(router: Router, deps: { fleet: FleetTracker; refreshSeconds?: number; assets?: ReadonlyMap<string, UiAsset> }): void {
  registerUiAssets(router, deps.assets ?? loadUiAssets());
  router.add('GET', '/', 'viewer', ({ res }) => sendHtml(res, 200, renderStatusPage(deps.fleet.view(), deps.refreshSeconds ?? 5), DASHBOARD_CSP));
}

/**
 * Scripts, styles and requests from this origin only; nothing inline, so an injected string
 * can neither run nor restyle the page. frame-ancestors does not fall back to default-src:
 * without it any site could frame the page (clickjacking).
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function renderStatusPage(view: FleetView, refreshSeconds: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>
<title>llm-health fleet</title>
<link rel="stylesheet" href="/ui/dashboard.css">
<script type="module" src="/ui/main.js"></script>
</head><body>
<header class="top">
<h1>llm-health fleet</h1>
<span id="summary"></span>
<span class="spacer"></span>
<span id="link" class="link" role="status" aria-live="polite"></span>
</header>
<main>
<section id="static" class="static">
<p>${view.hosts.length} host(s); refreshes every ${refreshSeconds}s. JSON: <a href="/api/v1/fleet">/api/v1/fleet</a></p>
${renderFleetTable(view)}
</section>
<div id="app" hidden>
<div class="top-controls">
<p><label for="filter">Filter</label> <input id="filter" type="search" placeholder="host, service, state, alert…" aria-describedby="filter-help"> <small id="filter-help">filters hosts, services, alerts, silences and events as you type</small>
<button id="theme" type="button">Theme</button></p>
<form id="token-form"><label for="token-input">Admin token</label> <input id="token-input" type="password" autocomplete="off"> <button type="submit">Keep for this tab</button> <button id="token-forget" type="button">Forget</button> <span id="token-state"></span></form>
</div>
<section aria-labelledby="hosts-title"><h2 id="hosts-title">Hosts</h2>
<p class="selection-bar"><button id="select-shown" type="button">Select shown services</button> <button id="select-none" type="button">Clear selection</button> <button id="restart-selected" type="button">Restart selected…</button> <span id="selection-count" aria-live="polite"></span></p>
<div id="hosts"></div></section>
<section id="jobs-section" aria-labelledby="jobs-title" hidden><h2 id="jobs-title">Restart jobs</h2><div id="jobs"></div></section>
<dialog id="restart-dialog"></dialog>
<div class="panels">
<section class="wide" aria-labelledby="alerts-title"><h2 id="alerts-title">Alerts</h2><div id="silence-form"></div><div id="alerts"></div></section>
<section aria-labelledby="incidents-title"><h2 id="incidents-title">Incidents</h2><div id="incidents"></div></section>
<section aria-labelledby="silences-title"><h2 id="silences-title">Silences</h2><div id="silences"></div></section>
<section aria-labelledby="events-title"><h2 id="events-title">Recent events</h2><div id="events"></div></section>
</div>
</div>
<div id="announcer" class="visually-hidden" aria-live="polite"></div>
</main>
</body></html>
`;
}

/** The fleet as one table, one row per service: what the page shows without JavaScript. */
export function renderFleetTable(view: FleetView): string {
  const rows: string[] = [];
  for (const h of view.hosts) {
    const host = `${esc(h.id)}${h.connected ? '' : ' <small>(disconnected)</small>'}`;
    if (h.services.length === 0) rows.push(`<tr><td>${host}</td><td colspan="6">no services reported</td></tr>`);
    for (const s of h.services) {
      rows.push(
        `<tr><td>${host}</td><td>${esc(s.name)}</td><td>${esc(s.kind)}</td>` +
          `<td class="state state-${esc(s.state)}">${esc(s.state)}</td><td>${esc(s.reason)}</td>` +
          `<td>${s.lastProbe.latencyMs === null ? '' : `${Math.round(s.lastProbe.latencyMs)} ms`}</td><td>${esc(h.lastSeen ?? 'never')}</td></tr>`,
      );
    }
  }
  return `<table><thead><tr><th>host</th><th>service</th><th>kind</th><th>state</th><th>reason</th><th>latency</th><th>last seen</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="7">no agents yet</td></tr>'}</tbody></table>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
