import type Database from 'better-sqlite3';
import type { JobTarget, JobUpdate, RestartJob, Selector, TargetUpdate } from '../jobs/types.js';
import type { JobStore } from './job-store.js';

interface JobRow {
  id: string;
  created_at: number;
  created_by: string;
  reason: string;
  selector: string;
  max_parallel: number;
  health_timeout: number;
  max_failures: number;
  state: RestartJob['state'];
  started_at: number | null;
  ended_at: number | null;
  abort_requested: number;
}

interface TargetRow {
  idx: number;
  host: string;
  service: string;
  unit: string;
  state: JobTarget['state'];
  command_id: string | null;
  started_at: number | null;
  result_at: string | null;
  ended_at: number | null;
  reason: string;
}

const JOB_COLUMNS: Record<keyof JobUpdate, string> = { state: 'state', startedAt: 'started_at', endedAt: 'ended_at', abortRequested: 'abort_requested' };
const TARGET_COLUMNS: Record<Exclude<keyof TargetUpdate, 'index'>, string> = {
  state: 'state',
  commandId: 'command_id',
  startedAt: 'started_at',
  resultAt: 'result_at',
  endedAt: 'ended_at',
  reason: 'reason',
};

const FINISHED_BEFORE = "SELECT id FROM restart_jobs WHERE state NOT IN ('pending', 'running') AND ended_at < ?";

/** The `restart_jobs` and `restart_targets` tables (schema step 4). */
export class SqliteJobTables implements JobStore {
  private readonly stmt: Record<'insertJob' | 'insertTarget' | 'getJob' | 'targets' | 'listJobs' | 'unfinished' | 'pruneTargets' | 'pruneJobs', Database.Statement>;
  private readonly pruneTx: (before: number) => void;
  private readonly createTx: (job: RestartJob) => void;
  private readonly updateTx: (id: string, job: JobUpdate, targets: readonly TargetUpdate[]) => void;
  private readonly updates = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insertJob: db.prepare(
        `INSERT INTO restart_jobs (id, created_at, created_by, reason, selector, max_parallel, health_timeout, max_failures, state, started_at, ended_at, abort_requested)
         VALUES (@id, @createdAt, @createdBy, @reason, @selector, @maxParallel, @healthTimeout, @maxFailures, @state, @startedAt, @endedAt, @abortRequested)`,
      ),
      insertTarget: db.prepare(
        `INSERT INTO restart_targets (job_id, idx, host, service, unit, state, command_id, started_at, result_at, ended_at, reason)
         VALUES (@jobId, @index, @host, @service, @unit, @state, @commandId, @startedAt, @resultAt, @endedAt, @reason)`,
      ),
      getJob: db.prepare('SELECT * FROM restart_jobs WHERE id = ?'),
      targets: db.prepare('SELECT * FROM restart_targets WHERE job_id = ? ORDER BY idx'),
      listJobs: db.prepare('SELECT * FROM restart_jobs ORDER BY created_at DESC, id DESC LIMIT ?'),
      unfinished: db.prepare("SELECT * FROM restart_jobs WHERE state IN ('pending', 'running') ORDER BY created_at, id"),
      pruneTargets: db.prepare(`DELETE FROM restart_targets WHERE job_id IN (${FINISHED_BEFORE})`),
      pruneJobs: db.prepare(`DELETE FROM restart_jobs WHERE id IN (${FINISHED_BEFORE})`),
    };
    this.pruneTx = db.transaction((before: number) => {
      this.stmt.pruneTargets.run(before);
      this.stmt.pruneJobs.run(before);
    });
    this.createTx = db.transaction((job: RestartJob) => {
      this.stmt.insertJob.run({ ...job, selector: JSON.stringify(job.selector), abortRequested: job.abortRequested ? 1 : 0 });
      for (const t of job.targets) this.stmt.insertTarget.run({ ...t, jobId: job.id });
    });
    this.updateTx = db.transaction((id: string, job: JobUpdate, targets: readonly TargetUpdate[]) => {
      this.update('restart_jobs', 'id = @id', JOB_COLUMNS, job, { id });
      for (const t of targets) this.update('restart_targets', 'job_id = @id AND idx = @index', TARGET_COLUMNS, t, { id, index: t.index });
    });
  }

  async createJob(job: RestartJob): Promise<void> {
    this.createTx(job);
  }

  async getJob(id: string): Promise<RestartJob | undefined> {
    const row = this.stmt.getJob.get(id) as JobRow | undefined;
    return row && this.withTargets(row);
  }

  async listJobs(limit: number): Promise<RestartJob[]> {
    return (this.stmt.listJobs.all(limit) as JobRow[]).map((r) => this.withTargets(r));
  }

  async unfinishedJobs(): Promise<RestartJob[]> {
    return (this.stmt.unfinished.all() as JobRow[]).map((r) => this.withTargets(r));
  }

  async updateJob(id: string, job: JobUpdate, targets: readonly TargetUpdate[] = []): Promise<void> {
    this.updateTx(id, job, targets);
  }

  async prune(before: number): Promise<void> {
    this.pruneTx(before);
  }

  /** UPDATE of the given fields only; statements are cached per column set. */
  private update(table: string, where: string, columns: Record<string, string>, fields: object, key: Record<string, unknown>): void {
    const entries = Object.entries(fields).filter(([k, v]) => k in columns && v !== undefined);
    if (!entries.length) return;
    const sql = `UPDATE ${table} SET ${entries.map(([k]) => `${columns[k]} = @${k}`).join(', ')} WHERE ${where}`;
    let stmt = this.updates.get(sql);
    if (!stmt) this.updates.set(sql, (stmt = this.db.prepare(sql)));
    stmt.run({ ...Object.fromEntries(entries.map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 1 : 0) : v])), ...key });
  }

  private withTargets(r: JobRow): RestartJob {
    const targets = (this.stmt.targets.all(r.id) as TargetRow[]).map(
      (t): JobTarget => ({ index: t.idx, host: t.host, service: t.service, unit: t.unit, state: t.state, commandId: t.command_id, startedAt: t.started_at, resultAt: t.result_at, endedAt: t.ended_at, reason: t.reason }),
    );
    return {
      id: r.id,
      createdAt: r.created_at,
      createdBy: r.created_by,
      reason: r.reason,
      selector: JSON.parse(r.selector) as Selector,
      maxParallel: r.max_parallel,
      healthTimeout: r.health_timeout,
      maxFailures: r.max_failures,
      state: r.state,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      abortRequested: r.abort_requested === 1,
      targets,
    };
  }
}
