import { requestJson, type RestartJob } from './api.js';
import { h } from './dom.js';

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

/**
 * The restart jobs this page started, each followed (`GET /api/v1/restarts/:id` every second)
 * until it ends: its state, counts and every target's state. A failed request is retried at
 * the next turn; the job itself ends by its `healthTimeout`, so the following does too.
 */
export class RestartJobsView {
  private readonly jobs = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly announce: (text: string) => void,
  ) {}

  follow(id: string, label: string): void {
    const el = h('article', { class: 'job', 'data-job': id, 'aria-label': `restart of ${label}` }, h('h3', {}, `Restart of ${label}`), h('p', {}, 'starting…'));
    this.jobs.set(id, el);
    this.root.prepend(el);
    this.root.closest('section')?.removeAttribute('hidden');
    this.announce(`Restart of ${label} started`);
    void this.poll(id, label);
  }

  private async poll(id: string, label: string): Promise<void> {
    const el = this.jobs.get(id);
    if (!el) return;
    try {
      const job = await requestJson<RestartJob>(`/api/v1/restarts/${encodeURIComponent(id)}`);
      el.replaceChildren(...renderJob(job, label));
      el.dataset.state = job.state;
      if (ENDED.has(job.state)) {
        this.announce(`Restart of ${label} ${job.state}: ${countsText(job)}`);
        return;
      }
    } catch (err) {
      el.querySelector('.job-error')?.remove();
      el.append(h('p', { class: 'job-error error' }, `progress unknown: ${(err as Error).message}; asking again`));
    }
    setTimeout(() => void this.poll(id, label), JOB_POLL_MS);
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
