/**
 * Per-unit runtime state, one JSON file per unit. Whoever owns the unit at the moment (its
 * supervisor while one runs, otherwise the systemctl command holding the unit's lock) writes
 * it whole, via a temporary file and rename, so readers never see half a state.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { stateDir, stateFile } from './paths.js';

export type ActiveState = 'inactive' | 'active' | 'activating' | 'deactivating' | 'failed';

/** systemd's CLD_* codes for ExecMainCode */
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;

export interface UnitState {
  activeState: ActiveState;
  subState: string;
  result: string;
  /** 0 whenever no main process runs */
  mainPid: number;
  execMainPid: number;
  execMainCode: number;
  execMainStatus: number;
  nRestarts: number;
  /** epoch ms, 0 = never */
  activeEnterTimestamp: number;
  inactiveEnterTimestamp: number;
  execMainStartTimestamp: number;
  execMainExitTimestamp: number;
  /** the supervisor process that owns this unit while it is active, activating or stopping */
  supervisorPid: number;
  /** start times inside the start-limit window (systemd's StartLimitBurst accounting) */
  startTimes: number[];
}

/**
 * What `systemctl show` reports for a unit that is loaded but has never run. systemd also
 * garbage-collects a unit that went inactive cleanly, so this is what a stopped unit shows
 * too (observed: ExecMainCode=0, ExecMainStatus=0, empty timestamps after a clean stop).
 */
export function freshState(startTimes: number[] = []): UnitState {
  return {
    activeState: 'inactive',
    subState: 'dead',
    result: 'success',
    mainPid: 0,
    execMainPid: 0,
    execMainCode: 0,
    execMainStatus: 0,
    nRestarts: 0,
    activeEnterTimestamp: 0,
    inactiveEnterTimestamp: 0,
    execMainStartTimestamp: 0,
    execMainExitTimestamp: 0,
    supervisorPid: 0,
    startTimes,
  };
}

export function readState(dir: string, unit: string): UnitState {
  try {
    return { ...freshState(), ...(JSON.parse(readFileSync(stateFile(dir, unit), 'utf8')) as Partial<UnitState>) };
  } catch {
    return freshState();
  }
}

let tmpCounter = 0;
export function writeState(dir: string, unit: string, state: UnitState): void {
  mkdirSync(stateDir(dir), { recursive: true });
  const target = stateFile(dir, unit);
  const tmp = `${target}.${process.pid}.${tmpCounter++}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, target);
}

/** A unit whose supervisor is (or should be) running: the supervisor owns its state. */
export function isOwnedBySupervisor(state: UnitState): boolean {
  return state.activeState === 'active' || state.activeState === 'activating' || state.activeState === 'deactivating';
}

/** Start times still inside the start-limit window. */
export function pruneStartTimes(times: number[], intervalMs: number, now: number): number[] {
  return times.filter((t) => now - t < intervalMs);
}
