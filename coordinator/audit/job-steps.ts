import type { JobTarget, RestartJob } from '../jobs/types.js';
import { SYSTEM_ACTOR, type AuditInput } from './auditor.js';

/** Audit action per target state a restart job's step reaches. */
const STEP_ACTION: Readonly<Record<JobTarget['state'], string | undefined>> = {
  pending: undefined,
  restarting: 'restart.target.sent',
  waiting: 'restart.target.result',
  healthy: 'restart.target.healthy',
  failed: 'restart.target.failed',
  skipped: 'restart.target.skipped',
};

/**
 * A restart job target's step as an audit row: done by the coordinator (`system`) on behalf
 * of the token that created the job (`detail.createdBy`), so a job's whole story reads under
 * one name.
 */
export function jobStepAudit(job: RestartJob, t: JobTarget): AuditInput | undefined {
  const action = STEP_ACTION[t.state];
  if (!action) return undefined;
  return {
    actor: SYSTEM_ACTOR,
    remote: null,
    action,
    target: `${t.host}/${t.service}`,
    detail: { jobId: job.id, createdBy: job.createdBy, unit: t.unit, commandId: t.commandId, state: t.state, reason: t.reason.slice(0, 300) },
    outcome: t.state === 'failed' ? 'error' : 'ok',
    status: null,
  };
}

/** The job's own state changes (started, succeeded, failed, aborted). */
export function jobStateAudit(job: RestartJob): AuditInput {
  const failed = job.targets.filter((t) => t.state === 'failed').length;
  return {
    actor: SYSTEM_ACTOR,
    remote: null,
    action: `restart.job.${job.state}`,
    target: job.id,
    detail: { createdBy: job.createdBy, targets: job.targets.length, failed },
    outcome: job.state === 'failed' ? 'error' : 'ok',
    status: null,
  };
}
