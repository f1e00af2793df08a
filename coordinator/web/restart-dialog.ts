import { requestJson, type RestartSelector, type RestartTarget } from './api.js';
import { h } from './dom.js';
import { forgetRefusedToken, tokenFor } from './token.js';

/** One or more jobs: a selection across hosts may need one selector per set of services. */
export interface RestartRequest {
  /** what the operator picked, in words ("qwen-vl on gpu-a", "host gpu-a") */
  label: string;
  selectors: RestartSelector[];
}

/**
 * The confirmation before a restart: a dry run lists exactly what the coordinator would
 * restart, and only "Restart N services" in the modal `<dialog>` (keyboard-trapped, Esc
 * cancels) sends the jobs. `started` gets each created job's id.
 */
export class RestartDialog {
  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly started: (id: string, label: string) => void,
    private readonly announce: (text: string) => void,
  ) {}

  async open(req: RestartRequest): Promise<void> {
    const token = tokenFor('Restarting services', this.announce);
    if (!token) return;
    let targets: RestartTarget[];
    try {
      const answers = await Promise.all(req.selectors.map((selector) => requestJson<{ targets: RestartTarget[] }>('/api/v1/restarts', { method: 'POST', body: { selector, dryRun: true }, token })));
      targets = answers.flatMap((a) => a.targets);
    } catch (err) {
      forgetRefusedToken(err);
      this.announce(`Cannot restart ${req.label}: ${(err as Error).message}`);
      return;
    }
    this.show(req, targets);
  }

  private show(req: RestartRequest, targets: RestartTarget[]): void {
    const reason = h('input', { type: 'text', id: 'rd-reason', maxlength: 1000, autocomplete: 'off' });
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const confirm = h('button', { type: 'submit', class: 'primary' }, `Restart ${targets.length} service${targets.length === 1 ? '' : 's'}`);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'rd-title' }, `Restart ${req.label}?`),
      h('p', {}, 'One at a time, each waiting to be reported healthy before the next. Hosts in maintenance are left out.'),
      h('ul', { class: 'targets', 'aria-label': 'services to restart' }, ...targets.map((t) => h('li', {}, h('strong', {}, t.service), ` on ${t.host} `, h('code', {}, t.unit)))),
      h('p', {}, h('label', { for: 'rd-reason' }, 'Reason (optional)'), ' ', reason),
      error,
      h('p', {}, confirm, ' ', cancel),
    );
    this.dialog.setAttribute('aria-labelledby', 'rd-title');
    this.dialog.replaceChildren(form);
    cancel.addEventListener('click', () => this.dialog.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      confirm.disabled = true;
      void this.submit(req, reason.value.trim(), error).finally(() => {
        confirm.disabled = false;
      });
    });
    this.dialog.showModal();
    confirm.focus();
  }

  private async submit(req: RestartRequest, reason: string, error: HTMLElement): Promise<void> {
    const token = tokenFor('Restarting services', this.announce);
    if (!token) return this.dialog.close();
    for (const selector of req.selectors) {
      try {
        const { id } = await requestJson<{ id: string }>('/api/v1/restarts', { method: 'POST', body: { selector, reason }, token });
        this.started(id, req.label);
      } catch (err) {
        forgetRefusedToken(err);
        error.textContent = `Not restarted: ${(err as Error).message}`;
        error.hidden = false;
        return;
      }
    }
    this.dialog.close();
  }
}
