import { requestJson, type RestartJob } from './api.js';
import { h } from './dom.js';
import { forgetRefusedToken, tokenFor } from './token.js';

/** How often a running job is asked for its progress. */
export const JOB_POLL_MS = 1000;
const ENDED = new Set(['succeeded', 'failed', 'aborted']);
/** Words with a mark for each target state: never colour alone. */
const TARGET_WORDS: Record<string, string> = {
  pending: '… pending',
  restarting: '↻ restarting',
  waiting: '⏳ waiting for healthy',
  healthy: '✓ healthy',
  failed: '✗ failed',
  skipped: '– skipped',
};

interface FollowedJob {
  article: HTMLElement;
  /** replaced at every poll */
  progress: HTMLElement;
  abort: HTMLButtonElement;
  /** what the abort said (requested, refused) */
  abortNote: HTMLElement;
}

/**
 * The restart jobs this page started, each followed (`GET /api/v1/restarts/:id` every second)
 * until it ends: its state, counts and every target's state, with an Abort button while it
 * runs (`DELETE /api/v1/restarts/:id`, admin token: targets not started yet are skipped, a
 * restart in progress finishes). A failed request is retried at the next turn; the job itself
 * ends by its `healthTimeout`, so the following does too.
 */
export class RestartJobsView {
  private readonly jobs = new Map<string, FollowedJob>();

  constructor(
    private readonly root: HTMLElement,
    private readonly announce: (text: string) => void,
  ) {}

  follow(id: string, label: string): void {
    const progress = h('div', {}, h('h3', {}, `Restart of ${label}`), h('p', {}, 'starting…'));
    const abort = h('button', { type: 'button', 'aria-label': `Abort restart of ${label}` }, 'Abort');
    const abortNote = h('span', { class: 'job-abort-note', role: 'status' });
    abort.addEventListener('click', () => void this.abort(id, label));
    const article = h('article', { class: 'job', 'data-job': id, 'aria-label': `restart of ${label}` }, progress, h('p', { class: 'job-actions' }, abort, ' ', abortNote));
    this.jobs.set(id, { article, progress, abort, abortNote });
    this.root.prepend(article);
    this.root.closest('section')?.removeAttribute('hidden');
    this.announce(`Restart of ${label} started`);
    void this.poll(id, label);
  }

  private async poll(id: string, label: string): Promise<void> {
    const followed = this.jobs.get(id);
    if (!followed) return;
    const { article, progress } = followed;
    try {
      const job = await requestJson<RestartJob>(`/api/v1/restarts/${encodeURIComponent(id)}`);
      progress.replaceChildren(...renderJob(job, label));
      article.dataset.state = job.state;
      if (job.abortRequested) this.abortShown(followed);
      if (ENDED.has(job.state)) {
        followed.abort.hidden = true;
        this.announce(`Restart of ${label} ${job.state}: ${countsText(job)}`);
        return;
      }
    } catch (err) {
      progress.querySelector('.job-error')?.remove();
      progress.append(h('p', { class: 'job-error error' }, `progress unknown: ${(err as Error).message}; asking again`));
    }
    setTimeout(() => void this.poll(id, label), JOB_POLL_MS);
  }

  private async abort(id: string, label: string): Promise<void> {
    const followed = this.jobs.get(id);
    if (!followed) return;
    const token = tokenFor('Aborting a restart', this.announce);
    if (!token) return;
    followed.abort.disabled = true;
    try {
      await requestJson<RestartJob>(`/api/v1/restarts/${encodeURIComponent(id)}`, { method: 'DELETE', token });
      this.abortShown(followed);
      this.announce(`Abort of the restart of ${label} requested: services not restarted yet are skipped`);
    } catch (err) {
      forgetRefusedToken(err);
      followed.abort.disabled = false;
      followed.abortNote.textContent = `abort refused: ${(err as Error).message}`;
    }
  }

  private abortShown(followed: FollowedJob): void {
    followed.abort.disabled = true;
    followed.abortNote.textContent = 'abort requested: a restart in progress finishes, the rest are skipped';
  }
}

function countsText(job: RestartJob): string {
  return Object.entries(job.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

function renderJob(job: RestartJob, label: string): Node[] {
  return [
    h('h3', {}, `Restart of ${label}: `, h('span', { class: `job-state job-${job.state}` }, job.state)),
    h('p', {}, countsText(job) || 'no targets', job.reason ? ` — ${job.reason}` : '', ` (by ${job.createdBy})`),
    h(
      'ul',
      { class: 'plain job-targets' },
      ...job.targets.map((t) => h('li', { 'data-target': `${t.host}/${t.service}`, 'data-state': t.state ?? 'pending' }, `${TARGET_WORDS[t.state ?? 'pending'] ?? t.state} — ${t.service} on ${t.host}`, t.reason ? ` (${t.reason})` : '')),
    ),
  ];
}
