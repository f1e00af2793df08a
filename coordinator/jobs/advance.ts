import { formatDuration } from '../../shared/duration.js';
import { IN_FLIGHT, type JobState, type JobTarget, type JobUpdate, type RestartJob, type TargetUpdate } from './types.js';

export interface AdvanceContext {
  now: number;
  /** the host's agent has a connection open now */
  connected(host: string): boolean;
  newCommandId(): string;
}

export interface Advance {
  job: JobUpdate;
  targets: TargetUpdate[];
  /** targets that just left `pending`: send them their command (after storing the updates) */
  dispatch: JobTarget[];
}

/**
 * One step of a job's schedule, pure: time out in-flight targets, stop on an abort or too
 * many failures (pending targets become `skipped`), start pending targets up to
 * maxParallel (those on offline hosts are skipped at their turn), and end the job when
 * nothing is pending or in flight. The caller stores the result before acting on it.
 */
export function advanceJob(job: RestartJob, ctx: AdvanceContext): Advance {
  const targets = job.targets.map((t) => ({ ...t }));
  const updates = new Map<number, TargetUpdate>();
  const change = (t: JobTarget, u: Omit<TargetUpdate, 'index'>) => {
    Object.assign(t, u);
    updates.set(t.index, { ...updates.get(t.index), ...u, index: t.index });
  };
  for (const t of targets) {
    if (IN_FLIGHT.has(t.state) && t.startedAt !== null && ctx.now >= t.startedAt + job.healthTimeout) change(t, timedOut(t, job, ctx.now));
  }
  const failures = targets.filter((t) => t.state === 'failed').length;
  const stop = job.abortRequested ? 'job aborted' : failures > job.maxFailures ? `job stopped: ${failures} target(s) failed, more than maxFailures (${job.maxFailures})` : null;
  const dispatch: JobTarget[] = [];
  let inFlight = targets.filter((t) => IN_FLIGHT.has(t.state)).length;
  for (const t of targets) {
    if (t.state !== 'pending') continue;
    if (stop) change(t, { state: 'skipped', endedAt: ctx.now, reason: stop });
    else if (inFlight >= job.maxParallel) break;
    else if (!ctx.connected(t.host)) change(t, { state: 'skipped', endedAt: ctx.now, reason: `host ${t.host} is offline` });
    else {
      change(t, { state: 'restarting', commandId: ctx.newCommandId(), startedAt: ctx.now, reason: 'restart command sent' });
      dispatch.push(t);
      inFlight += 1;
    }
  }
  return { job: jobUpdate(job, targets, ctx.now), targets: [...updates.values()], dispatch };
}

function timedOut(t: JobTarget, job: RestartJob, now: number): Omit<TargetUpdate, 'index'> {
  const within = formatDuration(job.healthTimeout);
  const reason = t.state === 'restarting' ? `no result from the agent within ${within} (healthTimeout)` : `not reported healthy within ${within} of the restart command (healthTimeout)`;
  return { state: 'failed', endedAt: now, reason };
}

function jobUpdate(job: RestartJob, targets: readonly JobTarget[], now: number): JobUpdate {
  const update: JobUpdate = {};
  if (job.state === 'pending') Object.assign(update, { state: 'running', startedAt: now });
  const open = targets.some((t) => t.state === 'pending' || IN_FLIGHT.has(t.state));
  if (!open) {
    const state: JobState = job.abortRequested ? 'aborted' : targets.some((t) => t.state === 'failed') ? 'failed' : 'succeeded';
    Object.assign(update, { state, endedAt: now });
  }
  return update;
}

/** The target a command_result answers: `waiting` for the service to come back, or `failed`. */
export function resultUpdate(t: JobTarget, ok: boolean, reason: string, at: string, now: number): TargetUpdate {
  if (ok) return { index: t.index, state: 'waiting', resultAt: at, reason: `restarted: ${reason}` };
  return { index: t.index, state: 'failed', resultAt: at, endedAt: now, reason: `agent: ${reason}` };
}

/** Reported healthy at `reportAt` (agent clock): counts only when after the command's result. */
export function healthyAfterResult(t: JobTarget, reportAt: string | null): boolean {
  if (t.state !== 'waiting' || t.resultAt === null || reportAt === null) return false;
  return Date.parse(reportAt) >= Date.parse(t.resultAt);
}
