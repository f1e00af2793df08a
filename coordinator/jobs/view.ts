import { formatDuration } from '../../shared/duration.js';
import type { JobTarget, RestartJob } from './types.js';

/** A job as the API serves it (docs/http-api.md, restart jobs): times in ISO 8601. */
export function jobView(job: RestartJob): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const t of job.targets) counts[t.state] = (counts[t.state] ?? 0) + 1;
  return {
    id: job.id,
    state: job.state,
    reason: job.reason,
    createdBy: job.createdBy,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    endedAt: iso(job.endedAt),
    abortRequested: job.abortRequested,
    selector: job.selector,
    maxParallel: job.maxParallel,
    healthTimeout: formatDuration(job.healthTimeout),
    maxFailures: job.maxFailures,
    counts,
    targets: job.targets.map(targetView),
  };
}

function targetView(t: JobTarget): Record<string, unknown> {
  return { host: t.host, service: t.service, unit: t.unit, state: t.state, reason: t.reason, commandId: t.commandId, startedAt: iso(t.startedAt), endedAt: iso(t.endedAt) };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
