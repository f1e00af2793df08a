/** Fleet restart jobs (docs/http-api.md, restart jobs): what is stored and served. */

export const JOB_STATES = ['pending', 'running', 'succeeded', 'failed', 'aborted'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TARGET_STATES = ['pending', 'restarting', 'waiting', 'healthy', 'failed', 'skipped'] as const;
/**
 * `restarting`: the command is sent, its result not seen yet; `waiting`: the agent restarted
 * the unit and the service has not been reported healthy since.
 */
export type TargetState = (typeof TARGET_STATES)[number];

/** Targets between "restart sent" and an end: what maxParallel counts. */
export const IN_FLIGHT: ReadonlySet<TargetState> = new Set(['restarting', 'waiting']);
export const TARGET_DONE: ReadonlySet<TargetState> = new Set(['healthy', 'failed', 'skipped']);
export const JOB_DONE: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'aborted']);

export interface Selector {
  /** agent ids or globs (`*`, `?`); absent: every host */
  hosts?: string[];
  /** service names; absent: every service */
  services?: string[];
  /** every label must match the host's exactly */
  labels?: Record<string, string>;
  /** hosts in maintenance are left out unless this is true */
  includeMaintenance?: boolean;
}

export interface JobTarget {
  /** position in the job: targets run in this order */
  index: number;
  host: string;
  service: string;
  unit: string;
  state: TargetState;
  /** the command id sent to the agent; set when the target leaves `pending` for `restarting` */
  commandId: string | null;
  /** epoch ms (coordinator clock): when the command was first sent */
  startedAt: number | null;
  /** the agent's `at` of its command_result (agent clock: compared with its later reports only) */
  resultAt: string | null;
  /** epoch ms: when the target reached healthy, failed or skipped */
  endedAt: number | null;
  reason: string;
}

export interface RestartJob {
  id: string;
  createdAt: number;
  /** the admin token's name */
  createdBy: string;
  reason: string;
  selector: Selector;
  maxParallel: number;
  /** ms: from the command to the service reported healthy, per target */
  healthTimeout: number;
  /** the job stops once more targets than this failed */
  maxFailures: number;
  state: JobState;
  startedAt: number | null;
  endedAt: number | null;
  /** DELETE asked for an abort: pending targets are skipped, in-flight ones finish */
  abortRequested: boolean;
  targets: JobTarget[];
}

export type TargetUpdate = Pick<JobTarget, 'index'> & Partial<Omit<JobTarget, 'index' | 'host' | 'service' | 'unit'>>;
export type JobUpdate = Partial<Pick<RestartJob, 'state' | 'startedAt' | 'endedAt' | 'abortRequested'>>;
