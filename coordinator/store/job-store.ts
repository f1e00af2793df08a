import type { JobUpdate, RestartJob, TargetUpdate } from '../jobs/types.js';

/**
 * Fleet restart jobs and their targets (coordinator/jobs/). Every step of a job is written
 * here before it is acted on, so that a coordinator restarted mid-job resumes it from the
 * store without restarting a target twice or forgetting one.
 */
export interface JobStore {
  /** The job with its targets, in one write. Rejects when the id is stored already. */
  createJob(job: RestartJob): Promise<void>;
  getJob(id: string): Promise<RestartJob | undefined>;
  /** Newest first, at most `limit`. */
  listJobs(limit: number): Promise<RestartJob[]>;
  /** Jobs in `pending` or `running`, oldest first: what a starting coordinator resumes. */
  unfinishedJobs(): Promise<RestartJob[]>;
  /** Changes the job's own fields and the given targets' fields in one write; unknown ids are ignored. */
  updateJob(id: string, job: JobUpdate, targets?: readonly TargetUpdate[]): Promise<void>;
  /** Retention: deletes finished jobs that ended before `before` (epoch ms). */
  prune(before: number): Promise<void>;
}
