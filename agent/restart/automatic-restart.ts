import type { EventLog } from '../events.js';
import type { UnitControl, UnitProperties } from '../unit-control.js';
import { restartUnit, restartWentThrough, type RestartOutcome } from './restart-unit.js';

export interface AutomaticRestart {
  service: string;
  unit: string;
  reason: string;
  /** 1 for the first restart inside the flap window */
  attempt: number;
  /** evidence read before (while the failing process still runs), or undefined to read it now */
  evidence?: Promise<Record<string, unknown>>;
  /** unit properties read moments ago, reused when the evidence is read now */
  known?: UnitProperties | null;
}

/**
 * A restart the state machine asked for: the evidence a restart destroys, `restart_started`
 * with it, the restart itself, and its outcome as `restart_succeeded` or `restart_failed`.
 * Never throws: a failing systemctl is an outcome to report.
 */
export async function runAutomaticRestart(units: UnitControl, events: EventLog, r: AutomaticRestart): Promise<RestartOutcome & { ok: boolean }> {
  let evidence: Record<string, unknown>;
  try {
    evidence = await (r.evidence ?? units.captureEvidence(r.unit, r.known));
  } catch (err) {
    evidence = { error: (err as Error).message };
  }
  events.emit({ type: 'restart_started', service: r.service, reason: r.reason, data: { unit: r.unit, attempt: r.attempt, evidence } });
  const before = (evidence.properties as UnitProperties | null | undefined) ?? undefined;
  const outcome = await restartUnit(units, r.unit, before);
  const ok = restartWentThrough(outcome);
  const out = outcome.command;
  events.emit({
    type: ok ? 'restart_succeeded' : 'restart_failed',
    service: r.service,
    reason: outcome.reason,
    data: {
      unit: r.unit,
      outcome: outcome.kind,
      ...(out ? { exitCode: out.exitCode, timedOut: out.timedOut, durationMs: Math.round(out.durationMs), stderr: out.stderr.slice(0, 2000) } : {}),
      properties: outcome.properties,
    },
  });
  return { ...outcome, ok };
}
