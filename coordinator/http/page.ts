import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetView } from '../fleet/types.js';
import { sendHtml } from './respond.js';
import type { Router } from './router.js';

/**
 * `GET /`: a minimal server-rendered fleet table that reloads itself. A placeholder until
 * the real dashboard (coordinator/web/) replaces this route; no scripts, so it works under
 * the strict Content-Security-Policy set in respond.ts.
 */
export function registerStatusPage(router: Router, deps: { fleet: FleetTracker; refreshSeconds?: number }): void {
  router.add('GET', '/', 'viewer', ({ res }) => sendHtml(res, 200, renderStatusPage(deps.fleet.view(), deps.refreshSeconds ?? 5)));
}

const STATE_COLOURS: Record<string, string> = {
  healthy: '#1a7f37',
  degraded: '#9a6700',
  starting: '#0969da',
  restarting: '#0969da',
  unhealthy: '#bc4c00',
  down: '#cf222e',
  gave_up: '#cf222e',
  unknown: '#6e7781',
};

export function renderStatusPage(view: FleetView, refreshSeconds: number): string {
  const rows: string[] = [];
  for (const h of view.hosts) {
    const host = `${esc(h.id)}${h.connected ? '' : ' <small>(disconnected)</small>'}`;
    if (h.services.length === 0) rows.push(`<tr><td>${host}</td><td colspan="6">no services reported</td></tr>`);
    for (const s of h.services) {
      const colour = STATE_COLOURS[s.state] ?? '#6e7781';
      rows.push(
        `<tr><td>${host}</td><td>${esc(s.name)}</td><td>${esc(s.kind)}</td>` +
          `<td style="color:${colour};font-weight:600">${esc(s.state)}</td><td>${esc(s.reason)}</td>` +
          `<td>${s.lastProbe.latencyMs === null ? '' : `${Math.round(s.lastProbe.latencyMs)} ms`}</td><td>${esc(h.lastSeen ?? 'never')}</td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${refreshSeconds}">
<title>llm-health fleet</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body><h1>llm-health fleet</h1>
<p>${view.hosts.length} host(s); refreshes every ${refreshSeconds}s. JSON: <a href="/api/v1/fleet">/api/v1/fleet</a></p>
<table><thead><tr><th>host</th><th>service</th><th>kind</th><th>state</th><th>reason</th><th>latency</th><th>last seen</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="7">no agents yet</td></tr>'}</tbody></table>
</body></html>
`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
