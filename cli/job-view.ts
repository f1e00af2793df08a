/**
 * How `llm-health restart` and `restarts show` print a restart job (docs/http-api.md, "Restart
 * jobs"): one line per target change, and on a terminal a progress bar redrawn in place
 * below them. Pure functions of the job JSON, so the output is testable without a terminal.
 */
export interface JobTarget {
  host: string;
  service: string;
  unit: string;
  state: 'pending' | 'restarting' | 'waiting' | 'healthy' | 'failed' | 'skipped';
  reason?: string;
  startedAt?: string | null;
  endedAt?: string | null;
}

export interface Job {
  id: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'aborted';
  reason?: string;
  createdBy?: string;
  maxParallel?: number;
  targets: JobTarget[];
}

export const JOB_DONE: ReadonlySet<Job['state']> = new Set(['succeeded', 'failed', 'aborted']);
const TARGET_STATES: readonly JobTarget['state'][] = ['healthy', 'restarting', 'waiting', 'failed', 'skipped', 'pending'];
const BAR_WIDTH = 24;

export const targetName = (t: Pick<JobTarget, 'host' | 'service'>): string => `${t.host}/${t.service}`;

/** One line per target, as the dry run and the confirmation show them. */
export function formatTargets(targets: readonly Pick<JobTarget, 'host' | 'service' | 'unit'>[]): string {
  const width = Math.max(0, ...targets.map((t) => targetName(t).length));
  return targets.map((t) => `  ${targetName(t).padEnd(width)}  ${t.unit}\n`).join('');
}

/** Lines for the targets whose state changed since `before` (every target the first time). */
export function targetChanges(before: ReadonlyMap<string, string>, job: Job, stamp: string): string[] {
  const lines: string[] = [];
  for (const t of job.targets) {
    const key = targetName(t);
    if (before.get(key) === t.state) continue;
    if (before.size === 0 && t.state === 'pending') continue;
    lines.push(`${stamp}  ${key}  ${t.state}${t.reason && t.state !== 'pending' ? `: ${oneLine(t.reason)}` : ''}`);
  }
  return lines;
}

export function targetStates(job: Job): Map<string, string> {
  return new Map(job.targets.map((t) => [targetName(t), t.state]));
}

/** `3 healthy · 2 restarting · 6 pending`, in a fixed order, zeros left out. */
export function countsLine(job: Job): string {
  const counts = new Map<string, number>();
  for (const t of job.targets) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return TARGET_STATES.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`).join(' · ');
}

/** `[#########---------------] 3/8  3 healthy · 1 waiting · 4 pending` (done = healthy, failed or skipped). */
export function progressBar(job: Job): string {
  const total = job.targets.length;
  const done = job.targets.filter((t) => t.state === 'healthy' || t.state === 'failed' || t.state === 'skipped').length;
  const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${total}  ${countsLine(job)}`;
}

/** The last line: the job's outcome, and what to look at when it did not succeed. */
export function summaryLine(job: Job): string {
  const bad = job.targets.filter((t) => t.state === 'failed' || t.state === 'skipped');
  const head = `job ${job.id} ${job.state}: ${countsLine(job)}`;
  return bad.length === 0 ? head : `${head}\n${bad.map((t) => `  ${targetName(t)}  ${t.state}${t.reason ? `: ${oneLine(t.reason)}` : ''}`).join('\n')}`;
}

/** 0 when every target is healthy, 1 otherwise (docs/cli.md). */
export function jobExitCode(job: Job): number {
  return job.state === 'succeeded' && job.targets.every((t) => t.state === 'healthy') ? 0 : 1;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
