/**
 * What the agent needs from the service manager. agent/restart/ implements it with
 * `systemctl`; the interface keeps the monitor testable and the restart code replaceable.
 */
export interface UnitProperties {
  activeState: string;
  subState: string;
  nRestarts: number | null;
  /** 0 when there is no main process (systemd shows 0 while failed): never signal it */
  mainPid: number;
  execMainStatus: number | null;
  result: string;
  /** systemd refused to start the unit again (Result=start-limit-hit) */
  startLimitHit: boolean;
  /** systemd's id of the unit's current run; a new one comes with every start that runs */
  invocationId?: string;
  /**
   * The unit's own TimeoutStopSec / TimeoutStartSec in ms (Infinity for `infinity`), when
   * systemctl printed them: `systemctl restart` can block for their sum.
   */
  timeoutStopMs?: number;
  timeoutStartMs?: number;
}

/**
 * States in which systemd is itself running a job on the unit (a stop, a start, an automatic
 * restart): a restart issued now would queue behind it and restart the fresh process again.
 */
export const JOB_STATES: ReadonlySet<string> = new Set(['activating', 'deactivating', 'reloading']);

export interface UnitCommandOutcome {
  ok: boolean;
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  argv: string[];
}

export interface UnitControl {
  restart(unit: string): Promise<UnitCommandOutcome>;
  /**
   * `systemctl reset-failed`: forgets a failed result and systemd's start-limit counter, so
   * an operator's restart is not refused by a start limit the automatic restarts ran into.
   */
  resetFailed(unit: string): Promise<UnitCommandOutcome>;
  show(unit: string): Promise<UnitProperties | null>;
  /**
   * Properties and journal tail, taken before a restart destroys them. `known`: properties
   * read moments ago in the same cycle (the crash check), so systemctl is not asked twice.
   */
  captureEvidence(unit: string, known?: UnitProperties | null): Promise<Record<string, unknown>>;
}

/** A unit is crashed when it is not active (or activating) or has no main process. */
export function unitLooksCrashed(p: UnitProperties | null): boolean {
  if (!p) return false;
  if (p.activeState === 'active' || p.activeState === 'reloading') return p.mainPid === 0;
  // activating = systemd is already restarting it (Restart=on-failure), deactivating = a stop
  // (ours or an operator's) is still waiting for the process: not a crash to handle
  return !JOB_STATES.has(p.activeState);
}
