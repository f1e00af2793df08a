import { requestJson, type Maintenance } from './api.js';
import { domId, h, setText, setTime, timeEl } from './dom.js';
import { clockTime } from './format.js';
import { forgetRefusedToken, tokenFor } from './token.js';

const DURATIONS = ['30m', '1h', '2h', '4h', '8h', '1d'];

/**
 * A host's maintenance window: a banner saying until when, why and who (in words and a
 * dashed edge, not only a colour), a button to start one (duration and comment, in a small
 * inline form) or to end it. Changes go to POST/DELETE /api/v1/hosts/:id/maintenance with
 * the admin token; the new state comes back through the live source like any other.
 */
export class MaintenanceControls {
  /** the banner, shown while the window lasts */
  readonly banner: HTMLElement;
  /** the host header's button: "Maintenance…" or "End maintenance" */
  readonly button: HTMLButtonElement;
  /** where the form opens */
  readonly formSlot: HTMLElement;
  private readonly until: HTMLElement;
  private readonly untilTime: HTMLTimeElement;
  private readonly detail: HTMLElement;
  private current: Maintenance | null = null;

  constructor(
    private readonly host: string,
    private readonly announce: (text: string) => void,
  ) {
    this.until = h('span');
    this.untilTime = timeEl(null);
    this.detail = h('span');
    this.banner = h('p', { class: 'banner maintenance', hidden: true }, h('strong', {}, 'In maintenance'), ' until ', this.until, ' (', this.untilTime, '): ', this.detail, '. No automatic restarts, no pages.');
    this.button = h('button', { type: 'button' });
    this.formSlot = h('div');
    this.button.addEventListener('click', () => (this.current ? void this.end() : this.openForm()));
  }

  update(m: Maintenance | null, now: number): void {
    this.current = m;
    this.banner.hidden = m === null;
    setText(this.button, m ? 'End maintenance' : 'Maintenance…');
    this.button.setAttribute('aria-label', m ? `End maintenance of ${this.host}` : `Put ${this.host} in maintenance`);
    if (!m) return;
    this.formSlot.replaceChildren();
    setText(this.until, clockTime(m.until, now));
    setTime(this.untilTime, m.until);
    setText(this.detail, `“${m.comment || 'no comment'}” by ${m.by}`);
  }

  private openForm(): void {
    const ids = { duration: domId('md', this.host), comment: domId('mc', this.host) };
    const duration = h('select', { id: ids.duration }, ...DURATIONS.map((d) => h('option', { value: d, selected: d === '2h' }, d)));
    const comment = h('input', { type: 'text', id: ids.comment, maxlength: 1000, required: true, autocomplete: 'off' });
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { class: 'maintenance-form', 'aria-label': `Maintenance of ${this.host}` },
      h('label', { for: ids.duration }, 'For'),
      ' ',
      duration,
      ' ',
      h('label', { for: ids.comment }, 'Comment'),
      ' ',
      comment,
      ' ',
      h('button', { type: 'submit', class: 'primary' }, 'Start maintenance'),
      ' ',
      cancel,
      error,
    );
    cancel.addEventListener('click', () => {
      this.formSlot.replaceChildren();
      this.button.focus();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.start(duration.value, comment.value.trim(), error);
    });
    this.formSlot.replaceChildren(form);
    comment.focus();
  }

  private async start(duration: string, comment: string, error: HTMLElement): Promise<void> {
    const token = tokenFor('Maintenance', this.announce);
    if (!token) return;
    try {
      await requestJson(this.path(), { method: 'POST', body: { for: duration, comment }, token });
      this.formSlot.replaceChildren();
      this.announce(`${this.host} is in maintenance for ${duration}`);
      this.button.focus();
    } catch (err) {
      forgetRefusedToken(err);
      error.textContent = `Not started: ${(err as Error).message}`;
      error.hidden = false;
    }
  }

  private async end(): Promise<void> {
    const token = tokenFor('Ending maintenance', this.announce);
    if (!token) return;
    this.button.disabled = true;
    try {
      await requestJson(this.path(), { method: 'DELETE', token });
      this.announce(`${this.host}: maintenance ended`);
    } catch (err) {
      forgetRefusedToken(err);
      this.announce(`Could not end the maintenance of ${this.host}: ${(err as Error).message}`);
    } finally {
      this.button.disabled = false;
    }
  }

  private path(): string {
    return `/api/v1/hosts/${encodeURIComponent(this.host)}/maintenance`;
  }
}
