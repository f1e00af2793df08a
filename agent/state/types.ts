import type { ServiceState } from '../../shared/protocol/constants.js';

/** The per-service states are the protocol's (docs/states-and-alerts.md). */
export { SERVICE_STATES, type ServiceState } from '../../shared/protocol/constants.js';

/** What one probe round means for the state machine, decided by classifyRound(). */
export type Verdict =
  /** ready (and deep probe passed where due); `degraded` names why it is not fully healthy */
  | { kind: 'good'; degraded?: string }
  /** alive and working but saturated: never a failure, never a restart */
  | { kind: 'busy'; reason: string }
  /** loading a model / port not open yet, inside the startup grace */
  | { kind: 'starting'; reason: string }
  /** retries exhausted, or hard evidence of a crash (`crash`) */
  | { kind: 'failed'; reason: string; crash: boolean };

export type MachineInput =
  | { type: 'round'; verdict: Verdict }
  /** an attempt inside a round failed; retries are still pending */
  | { type: 'attempt_failed'; reason: string }
  | { type: 'restart_finished'; ok: boolean; reason: string }
  /** the unit's main process changed without us restarting it (an operator or systemd did) */
  | { type: 'restarted_externally'; reason: string }
  /**
   * an operator asked for a restart (a coordinator restart job): it is run whatever the
   * state, clears `gave_up` and the flap window, and does not count as an automatic restart
   */
  | { type: 'operator_restart'; reason: string }
  | { type: 'tick' };

export interface MachineConfig {
  startupGrace: number;
  recoverAfter: number;
  /** a unit is configured and automatic restarts are enabled */
  canRestart: boolean;
  maxRestarts: number;
  window: number;
  backoff: number;
}

export interface ServiceStatus {
  state: ServiceState;
  reason: string;
  /** when the current state was entered */
  since: number;
  /** startup grace end (epoch ms), or null outside a grace */
  graceUntil: number | null;
  /** a failure was seen and no restart followed: recovery needs `recoverAfter` good rounds */
  recovering: boolean;
  goodRounds: number;
  /** times of automatic restarts still inside the flap window */
  recentRestarts: number[];
  /** a restart waiting out its backoff */
  nextRestartAt: number | null;
  restartCount: number;
  lastRestartAt: number | null;
  lastRestartOutcome: 'succeeded' | 'failed' | null;
}

export interface Transition {
  from: ServiceState;
  to: ServiceState;
  reason: string;
}

export type MachineAction = { type: 'restart'; reason: string; attempt: number };

/** Extra events besides state changes (gave_up is both a state and its own event type). */
export type MachineNotice = { type: 'gave_up'; reason: string; restarts: number };

export interface StepResult {
  status: ServiceStatus;
  transitions: Transition[];
  actions: MachineAction[];
  notices: MachineNotice[];
}
