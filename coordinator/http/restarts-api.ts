import type { Clock } from '../../shared/clock.js';
import type { FleetState } from '../fleet/types.js';
import { JobRequestError, parseJobRequest, resolveTargets, type JobRequest, type PlannedTarget } from '../jobs/request.js';
import { JobConflictError, type RestartScheduler } from '../jobs/scheduler.js';
import type { RestartJob } from '../jobs/types.js';
import { jobView } from '../jobs/view.js';
import type { JobStore } from '../store/job-store.js';
import { badRequest, HttpError, sendJson } from './respond.js';
import type { RouteContext, Router } from './router.js';
import { newOperatorId } from '../ids.js';
import { readJsonBody } from './silences-api.js';

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

export interface RestartsApiDeps {
  scheduler: Pick<RestartScheduler, 'create' | 'abort' | 'get'>;
  store: Pick<JobStore, 'getJob' | 'listJobs'>;
  fleet: { readonly state: FleetState };
  clock: Clock;
  /** hosts in maintenance are skipped unless the selector has includeMaintenance */
  inMaintenance?: (host: string) => boolean;
  /** a job was created or asked to abort (the audit log) */
  onAction?: (ctx: RouteContext, action: 'restart.create' | 'restart.abort', job: RestartJob) => void;
  newId?: () => string;
}

/**
 * Fleet restart jobs (docs/http-api.md, restart jobs): `POST /api/v1/restarts` (admin) →
 * 202 `{ id, targets }` (200 `{ dryRun: true, targets }` for a dry run), `GET` list and one
 * (viewer), `DELETE /api/v1/restarts/:id` (admin) aborts: pending targets are skipped, the
 * ones in flight finish.
 */
export function registerRestartRoutes(router: Router, deps: RestartsApiDeps): void {
  const newId = deps.newId ?? newOperatorId;
  router
    .add('POST', '/api/v1/restarts', 'admin', async (ctx) => {
      const request = parseRequest(await readJsonBody(ctx.req, MAX_BODY_BYTES));
      const targets = resolveTargets(deps.fleet.state, request.selector, deps.inMaintenance);
      ctx.audit.detail = { reason: request.reason, selector: request.selector, targets: targets.length, dryRun: request.dryRun };
      if (request.dryRun) return sendJson(ctx.res, 200, { dryRun: true, targets });
      if (targets.length === 0) throw new HttpError(400, 'no_targets', 'the selector matches no service with a unit');
      const job = newJob(newId(), request, targets, ctx.actor ?? 'admin', deps.clock.now());
      ctx.audit.target = job.id;
      try {
        await deps.scheduler.create(job);
      } catch (err) {
        if (err instanceof JobConflictError) throw new HttpError(409, 'conflict', err.message);
        throw err;
      }
      deps.onAction?.(ctx, 'restart.create', job);
      sendJson(ctx.res, 202, { id: job.id, targets }, { Location: `/api/v1/restarts/${encodeURIComponent(job.id)}` });
    }, 'restart.create')
    .add('GET', '/api/v1/restarts', 'viewer', async ({ res, url }) => {
      const raw = url.searchParams.get('limit');
      const limit = raw === null ? DEFAULT_LIST_LIMIT : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw badRequest(`limit: expected an integer from 1 to ${MAX_LIST_LIMIT}`);
      const jobs = await deps.store.listJobs(limit);
      sendJson(res, 200, { jobs: jobs.map((j) => jobView(deps.scheduler.get(j.id) ?? j)) });
    })
    .add('GET', '/api/v1/restarts/:id', 'viewer', async ({ res, params }) => {
      sendJson(res, 200, jobView(await findJob(deps, params.id!)));
    })
    .add('DELETE', '/api/v1/restarts/:id', 'admin', async (ctx) => {
      const job = await findJob(deps, ctx.params.id!);
      if (!(await deps.scheduler.abort(job.id))) throw new HttpError(409, 'conflict', `job ${job.id} has already ended (${job.state})`);
      const after = deps.scheduler.get(job.id) ?? (await findJob(deps, job.id));
      deps.onAction?.(ctx, 'restart.abort', after);
      ctx.audit.detail = { state: after.state };
      sendJson(ctx.res, 200, jobView(after));
    }, 'restart.abort');
}

function parseRequest(body: unknown): JobRequest {
  try {
    return parseJobRequest(body);
  } catch (err) {
    if (err instanceof JobRequestError) throw badRequest(err.message);
    throw err;
  }
}

function newJob(id: string, r: JobRequest, targets: readonly PlannedTarget[], createdBy: string, now: number): RestartJob {
  return {
    id,
    createdAt: now,
    createdBy,
    reason: r.reason,
    selector: r.selector,
    maxParallel: r.maxParallel,
    healthTimeout: r.healthTimeout,
    maxFailures: r.maxFailures,
    state: 'pending',
    startedAt: null,
    endedAt: null,
    abortRequested: false,
    targets: targets.map((t, index) => ({ ...t, index, state: 'pending', commandId: null, startedAt: null, resultAt: null, endedAt: null, reason: 'waiting for its turn' })),
  };
}

async function findJob(deps: RestartsApiDeps, id: string): Promise<RestartJob> {
  const job = deps.scheduler.get(id) ?? (id.length <= 64 ? await deps.store.getJob(id) : undefined);
  if (!job) throw new HttpError(404, 'not_found', `no restart job ${JSON.stringify(id.slice(0, 64))}`);
  return job;
}
