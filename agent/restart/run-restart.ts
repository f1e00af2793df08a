import type { EventLog } from '../events.js';
import type { UnitControl, UnitProperties } from '../unit-control.js';
import { restartUnit, restartWentThrough, type RestartOutcome } from './restart-unit.js';

export interface RestartRequest {
  service: string;
  unit: string;
  reason: string;
  /**
   * `automatic`: the state machine asked (attempt 1 is the first inside the flap window);
   * `operator`: a coordinator command asked, and systemd's failed state is reset first.
   */
  trigger: { kind: 'automatic'; attempt: number } | { kind: 'operator'; commandId: string };
  /** evidence read before (while the failing process still runs), or undefined to read it now */
  evidence?: Promise<Record<string, unknown>>;
  /** unit properties read moments ago, reused when the evidence is read now */
  known?: UnitProperties | null;
}

/**
 * One restart, automatic or an operator's, with the same record either way: the evidence a
 * restart destroys, `restart_started` with it, the restart itself, and its outcome as
 * `restart_succeeded` or `restart_failed`. Never throws: a failing systemctl is an outcome.
 */
export async function runRestart(units: UnitControl, events: EventLog, r: RestartRequest): Promise<RestartOutcome & { ok: boolean }> {
  let evidence: Record<string, unknown>;
  try {
    evidence = await (r.evidence ?? units.captureEvidence(r.unit, r.known));
  } catch (err) {
    evidence = { error: (err as Error).message };
  }
  const operator = r.trigger.kind === 'operator' ? { trigger: 'operator', commandId: r.trigger.commandId } : undefined;
  const trigger = r.trigger.kind === 'automatic' ? { attempt: r.trigger.attempt } : { attempt: 0, ...operator };
  events.emit({ type: 'restart_started', service: r.service, reason: r.reason, data: { unit: r.unit, ...trigger, evidence } });
  const before = (evidence.properties as UnitProperties | null | undefined) ?? undefined;
  const outcome = await restartUnit(units, r.unit, before, { resetFailed: operator !== undefined });
  const ok = restartWentThrough(outcome);
  const out = outcome.command;
  events.emit({
    type: ok ? 'restart_succeeded' : 'restart_failed',
    service: r.service,
    reason: outcome.reason,
    data: {
      unit: r.unit,
      outcome: outcome.kind,
      ...operator,
      ...(out ? { exitCode: out.exitCode, timedOut: out.timedOut, durationMs: Math.round(out.durationMs), stderr: out.stderr.slice(0, 2000) } : {}),
      properties: outcome.properties,
    },
  });
  return { ...outcome, ok };
}
