/**
 * One restart of one unit, as the daemon and `llm-health check` both run it: the restart,
 * then `systemctl show` to learn what systemd made of it. A timed-out `systemctl restart`
 * is not a failed restart by itself — the job goes on without the client — so its outcome
 * is read from the unit, and no restart is issued while systemd is still running a job on it.
 */
import { JOB_STATES, type UnitCommandOutcome, type UnitControl, type UnitProperties } from '../unit-control.js';

export type RestartOutcomeKind =
  /** the unit is running again (the restart returned, or it timed out and the unit is active) */
  | 'succeeded'
  /** systemd is still stopping or starting the unit: wait for it, never restart it again now */
  | 'in_progress'
  /** systemd's own start limit refused the start (Result=start-limit-hit) */
  | 'start_limit_hit'
  | 'failed'
  /** not run at all: the unit is not this agent's, or systemctl could not be started */
  | 'refused';

export interface RestartOutcome {
  kind: RestartOutcomeKind;
  /** one line for an event or `check`'s table */
  reason: string;
  command?: UnitCommandOutcome;
  /** the unit as `systemctl show` described it after the restart */
  properties?: UnitProperties;
}

/** A restart that brought (or is bringing) the unit back: the service is `starting`. */
export function restartWentThrough(outcome: RestartOutcome): boolean {
  return outcome.kind === 'succeeded' || outcome.kind === 'in_progress';
}

export interface RestartUnitOptions {
  /**
   * `systemctl reset-failed` first (an operator's restart): a unit that hit systemd's start
   * limit during automatic restarts would otherwise refuse this start as well. Its state is
   * then read again, since the evidence read before no longer describes it.
   */
  resetFailed?: boolean;
}

/**
 * `before`: the unit as read moments ago (the evidence); read again when not given.
 */
export async function restartUnit(units: UnitControl, unit: string, before?: UnitProperties | null, options: RestartUnitOptions = {}): Promise<RestartOutcome> {
  if (options.resetFailed) {
    const reset = await resetFailedQuietly(units, unit);
    if (reset) return reset;
  }
  const current = before === undefined || options.resetFailed ? await showQuietly(units, unit) : before;
  if (current && JOB_STATES.has(current.activeState)) {
    return { kind: 'in_progress', reason: `systemd is already ${current.activeState} ${unit}: no second restart while its job runs`, properties: current };
  }
  let command: UnitCommandOutcome;
  try {
    command = await units.restart(unit);
  } catch (err) {
    // a refused unit (not in config, bad name) or a missing systemctl: an outcome, never a crash
    return { kind: 'refused', reason: `restart of ${unit} not possible: ${(err as Error).message}` };
  }
  const after = (await showQuietly(units, unit)) ?? undefined;
  const took = `${Math.round(command.durationMs)} ms`;
  const outcome = (kind: RestartOutcomeKind, reason: string): RestartOutcome => ({ kind, reason, command, ...(after ? { properties: after } : {}) });
  if (after?.startLimitHit) return outcome('start_limit_hit', `systemd refused to start ${unit}: start-limit-hit`);
  if (!command.ok && refusedBeforeRunning(current, after, command)) {
    return outcome('start_limit_hit', `systemd refused to start ${unit}: start limit hit (no new run; Result keeps the earlier '${after!.result}')`);
  }
  if (command.ok) return outcome('succeeded', `systemctl restart ${unit} succeeded in ${took}`);
  if (command.timedOut && after) {
    if (after.activeState === 'active') return outcome('succeeded', `systemctl restart ${unit} did not return within ${took}, but the unit is active again (systemctl show)`);
    if (JOB_STATES.has(after.activeState)) return outcome('in_progress', `systemctl restart ${unit} did not return within ${took}; systemd is still ${after.activeState} it, so its job goes on (no second restart)`);
  }
  if (command.timedOut) return outcome('failed', `systemctl restart ${unit} timed out after ${took}${after ? ` (unit ${after.activeState}/${after.subState})` : ''}`);
  return outcome('failed', `systemctl restart ${unit} failed (exit ${command.exitCode ?? command.signal}): ${command.stderr.trim().slice(0, 500)}`);
}

/** A refused reset-failed (a unit not in the config) as the outcome; a failing one is not fatal. */
async function resetFailedQuietly(units: UnitControl, unit: string): Promise<RestartOutcome | undefined> {
  try {
    await units.resetFailed(unit);
    return undefined;
  } catch (err) {
    return { kind: 'refused', reason: `restart of ${unit} not possible: ${(err as Error).message}` };
  }
}

async function showQuietly(units: UnitControl, unit: string): Promise<UnitProperties | null> {
  try {
    return await units.show(unit);
  } catch {
    return null;
  }
}

/**
 * A start refused before anything ran: the unit is failed under the same invocation as before
 * the restart. After a crash loop that is systemd's start limit, yet `Result` still says
 * `exit-code`, because systemd keeps a unit's first failure until reset-failed, so
 * Result=start-limit-hit alone misses exactly the crash loops it exists for. A dependency that
 * failed also starts nothing; systemctl says so, and that is not the start limit.
 */
function refusedBeforeRunning(before: UnitProperties | null, after: UnitProperties | undefined, command: UnitCommandOutcome): boolean {
  if (command.timedOut || !before?.invocationId || !after) return false;
  return after.activeState === 'failed' && after.invocationId === before.invocationId && !/dependency/i.test(command.stderr);
}
