import type { Alert, Silence } from './api.js';
import { h, timeEl } from './dom.js';
import { matchesFilter } from './format.js';

/**
 * Firing and muted alerts (resolved ones are left to the API: the page is for what needs
 * attention now). Re-rendered only when the list or the filter changed, so a button keeps
 * its focus between polls.
 */
export class AlertsView {
  private signature = '';

  constructor(
    private readonly root: HTMLElement,
    private readonly onSilence: (alert: Alert) => void,
  ) {}

  update(alerts: Alert[], silences: Silence[], filter: string): void {
    const shown = alerts.filter((a) => a.state !== 'resolved' && matchesFilter(filter, ...Object.values(a.labels), a.annotations.summary, a.state));
    const signature = JSON.stringify([shown, silences.map((s) => s.id), filter]);
    if (signature === this.signature) return;
    this.signature = signature;
    if (shown.length === 0) {
      this.root.replaceChildren(h('p', { class: 'empty' }, filter ? 'No firing alert matches the filter.' : 'No alert is firing.'));
      return;
    }
    const rows = shown.map((a) => {
      const button = h('button', { type: 'button' }, 'Silence…');
      button.setAttribute('aria-label', `Silence ${a.labels.alertname ?? 'alert'}${a.labels.host ? ` on ${a.labels.host}` : ''}${a.labels.service ? ` ${a.labels.service}` : ''}`);
      button.addEventListener('click', () => this.onSilence(a));
      const muted = mutedBy(a, silences);
      return h(
        'tr',
        { 'data-fingerprint': a.fingerprint, 'data-alert-state': a.state, class: `alert sev-${a.labels.severity ?? 'none'}` },
        h('th', { scope: 'row' }, a.labels.alertname ?? '?'),
        h('td', {}, [a.labels.host, a.labels.service, a.labels.gpu !== undefined ? `GPU ${a.labels.gpu}` : undefined].filter(Boolean).join(' / ')),
        h('td', {}, h('span', { class: `badge tone-${a.state === 'firing' ? 'bad' : 'idle'}` }, a.state === 'firing' ? '● firing' : `○ ${muted}`)),
        h('td', {}, a.labels.severity ?? ''),
        h('td', {}, a.annotations.summary ?? '', a.annotations.description ? h('small', { class: 'desc' }, a.annotations.description) : null),
        h('td', {}, timeEl(a.startsAt)),
        h('td', {}, a.state === 'firing' ? button : ''),
      );
    });
    this.root.replaceChildren(
      h(
        'table',
        { class: 'list' },
        h('thead', {}, h('tr', {}, ...['alert', 'where', 'state', 'severity', 'summary', 'since', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    );
  }
}

function mutedBy(a: Alert, silences: Silence[]): string {
  const reasons = a.suppressedBy.map((s) => {
    if (s.kind === 'inhibited') return 'inhibited';
    if (s.kind === 'maintenance') return `${s.host} in maintenance (${s.comment}, by ${s.by})`;
    const comments = s.silenceIds.map((id) => silences.find((x) => x.id === id)?.comment).filter(Boolean);
    return comments.length ? `silenced (${comments.join('; ')})` : 'silenced';
  });
  return reasons.join(', ') || 'muted';
}
