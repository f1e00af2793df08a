import { requestJson, type Alert, type Silence } from './api.js';
import { h, timeEl } from './dom.js';
import { matchesFilter, matcherText, silenceMatchers } from './format.js';
import { adminToken, forgetRefusedToken, setAdminToken, tokenFor } from './token.js';

export interface SilenceActions {
  /** the page changed a silence: fetch fresh data now */
  changed(): void;
  announce(text: string): void;
}

/**
 * Active and pending silences with an Expire button, and the form that creates one from an
 * alert's labels. Both need the admin token; without one the form asks for it.
 */
export class SilencesView {
  private signature = '';

  constructor(
    private readonly root: HTMLElement,
    private readonly formSlot: HTMLElement,
    private readonly actions: SilenceActions,
  ) {}

  update(silences: Silence[], filter: string): void {
    const shown = silences.filter((s) => s.state !== 'expired' && matchesFilter(filter, s.comment, s.createdBy, ...s.matchers.map(matcherText)));
    const signature = JSON.stringify([shown, filter]);
    if (signature === this.signature) return;
    this.signature = signature;
    if (shown.length === 0) {
      this.root.replaceChildren(h('p', { class: 'empty' }, 'No active or pending silence.'));
      return;
    }
    this.root.replaceChildren(
      h(
        'table',
        { class: 'list' },
        h('thead', {}, h('tr', {}, ...['matchers', 'state', 'ends', 'by', 'comment', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...shown.map((s) => {
            const expire = h('button', { type: 'button', 'aria-label': `Expire the silence ${s.matchers.map(matcherText).join(', ')}` }, 'Expire');
            expire.addEventListener('click', () => void this.expire(s, expire));
            return h(
              'tr',
              { 'data-silence': s.id },
              h('td', {}, h('code', {}, s.matchers.map(matcherText).join(', '))),
              h('td', {}, s.state),
              h('td', {}, timeEl(s.endsAt)),
              h('td', {}, s.createdBy),
              h('td', {}, s.comment),
              h('td', {}, expire),
            );
          }),
        ),
      ),
    );
  }

  /** Opens the form for a silence of this alert, matchers preset from its labels. */
  openForm(alert: Alert): void {
    const matchers = silenceMatchers(alert.labels);
    const boxes = matchers.map((m, i) => {
      const box = h('input', { type: 'checkbox', id: `sm-${i}`, value: m, checked: true });
      return h('li', {}, box, ' ', h('label', { for: `sm-${i}` }, h('code', {}, m)));
    });
    const tokenInput = h('input', { type: 'password', id: 'sf-token', autocomplete: 'off', required: true });
    const duration = h('select', { id: 'sf-duration' }, ...['30m', '1h', '2h', '4h', '1d'].map((d) => h('option', { value: d, selected: d === '2h' }, d)));
    const comment = h('input', { type: 'text', id: 'sf-comment', required: true, maxlength: 1000 });
    const author = h('input', { type: 'text', id: 'sf-author', required: true, maxlength: 128, value: rememberedAuthor() });
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { class: 'silence-form', 'aria-labelledby': 'sf-title' },
      h('h3', { id: 'sf-title' }, `Silence ${alert.labels.alertname ?? 'alert'}`),
      h('fieldset', {}, h('legend', {}, 'Match alerts with'), h('ul', { class: 'plain' }, ...boxes)),
      adminToken() ? null : h('p', {}, h('label', { for: 'sf-token' }, 'Admin token (kept for this tab only)'), tokenInput),
      h('p', {}, h('label', { for: 'sf-duration' }, 'For'), duration),
      h('p', {}, h('label', { for: 'sf-comment' }, 'Comment'), comment),
      h('p', {}, h('label', { for: 'sf-author' }, 'Created by'), author),
      error,
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Create silence'), ' ', cancel),
    );
    cancel.addEventListener('click', () => this.formSlot.replaceChildren());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!adminToken()) setAdminToken(tokenInput.value.trim());
      const chosen = boxes.map((li) => li.querySelector('input')!).filter((b) => b.checked).map((b) => b.value);
      if (chosen.length === 0) return showError(error, 'Choose at least one matcher.');
      void this.create({ matchers: chosen, duration: duration.value, comment: comment.value.trim(), createdBy: author.value.trim() }, error);
    });
    this.formSlot.replaceChildren(form);
    comment.focus();
  }

  private async create(body: { matchers: string[]; duration: string; comment: string; createdBy: string }, error: HTMLElement): Promise<void> {
    try {
      rememberAuthor(body.createdBy);
      const { id } = await requestJson<{ id: string }>('/api/v1/silences', { method: 'POST', body, token: adminToken() });
      this.formSlot.replaceChildren();
      this.actions.announce(`Silence ${id} created for ${body.duration}: ${body.matchers.join(', ')}`);
      this.actions.changed();
    } catch (err) {
      forgetRefusedToken(err);
      showError(error, `Not created: ${(err as Error).message}`);
    }
  }

  private async expire(s: Silence, button: HTMLButtonElement): Promise<void> {
    const token = tokenFor('Expiring a silence', this.actions.announce);
    if (!token) return;
    button.disabled = true;
    try {
      await requestJson(`/api/v1/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE', token });
      this.actions.announce(`Silence ${s.id} expired`);
      this.actions.changed();
    } catch (err) {
      forgetRefusedToken(err);
      this.actions.announce(`Could not expire the silence: ${(err as Error).message}`);
      button.disabled = false;
    }
  }
}

function showError(el: HTMLElement, text: string): void {
  el.textContent = text;
  el.hidden = false;
}

const AUTHOR_KEY = 'llmh-silence-author';

function rememberedAuthor(): string {
  try {
    return localStorage.getItem(AUTHOR_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberAuthor(name: string): void {
  try {
    localStorage.setItem(AUTHOR_KEY, name);
  } catch {
    // not remembered: the operator types it again next time
  }
}
