/**
 * The stand-in's jobs (start, stop, restart, kill, reset-failed) and its view of a unit's
 * current state. systemctl.ts turns these into systemd's messages and exit codes; tests
 * and the demo call stopAllUnits() directly for teardown.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withUnitLock } from './lock.js';
import { logFile, logsDir, stateDir, unitsDir } from './paths.js';
import { isAlive, isSupervisorOf, signalGroup, signalProcess, waitForExit } from './processes.js';
import { freshState, isOwnedBySupervisor, pruneStartTimes, readState, writeState, type UnitState } from './state.js';
import { readUnit, START_TIMEOUT_MS, type UnitDefinition } from './units.js';

const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervisor.js');
/** beyond TimeoutStopSec: the supervisor's own bookkeeping after the main process went */
const STOP_SLACK_MS = 3_000;

export type JobResult =
  | { ok: true }
  | { ok: false; reason: 'not-loaded' }
  | { ok: false; reason: 'failed'; result: string };

/**
 * The unit's state as `systemctl show` should report it. A supervisor killed from outside
 * leaves "active" behind with nobody watching; that is reported as failed (Result=resources,
 * systemd's word for "could not track it") once its main process is gone as well.
 */
export function currentState(dir: string, unit: string): UnitState {
  const state = readState(dir, unit);
  if (!isOwnedBySupervisor(state) || isSupervisorOf(state.supervisorPid, unit)) return state;
  if (isAlive(state.mainPid)) return state;
  return { ...state, activeState: 'failed', subState: 'failed', result: 'resources', mainPid: 0, supervisorPid: 0 };
}

export async function startUnit(dir: string, unit: string): Promise<JobResult> {
  const def = readUnit(dir, unit);
  if (!def) return { ok: false, reason: 'not-loaded' };
  return withUnitLock(dir, unit, lockTimeout(def), () => startLocked(dir, def));
}

export async function stopUnit(dir: string, unit: string): Promise<JobResult> {
  const def = readUnit(dir, unit);
  if (!def) return { ok: false, reason: 'not-loaded' };
  return withUnitLock(dir, unit, lockTimeout(def), async () => {
    await stopLocked(dir, def);
    // nothing references the unit any more, so systemd unloads it: show reports defaults
    const after = readState(dir, unit);
    if (after.activeState === 'inactive') writeState(dir, unit, freshState(after.startTimes));
    return { ok: true };
  });
}

/** Stop, then start; returns once the new main process has been started (Type=simple). */
export async function restartUnit(dir: string, unit: string): Promise<JobResult> {
  const def = readUnit(dir, unit);
  if (!def) return { ok: false, reason: 'not-loaded' };
  return withUnitLock(dir, unit, lockTimeout(def), async () => {
    await stopLocked(dir, def);
    return startLocked(dir, def);
  });
}

/** `systemctl kill`: a signal to the main process or its whole group; the supervisor sees the outcome. */
export function killUnit(dir: string, unit: string, signal: NodeJS.Signals | number, whom: 'main' | 'all'): JobResult {
  if (!readUnit(dir, unit)) return { ok: false, reason: 'not-loaded' };
  const state = currentState(dir, unit);
  if (state.mainPid) {
    if (whom === 'main') signalProcess(state.mainPid, signal);
    else if (!signalGroup(state.mainPid, signal as NodeJS.Signals)) signalProcess(state.mainPid, signal);
  }
  return { ok: true };
}

/** Clears the failed state and the start-limit counter, as `systemctl reset-failed` does. */
export async function resetFailed(dir: string, unit: string): Promise<JobResult> {
  const def = readUnit(dir, unit);
  if (!def) return { ok: false, reason: 'not-loaded' };
  return withUnitLock(dir, unit, lockTimeout(def), async () => {
    const state = currentState(dir, unit);
    if (!isOwnedBySupervisor(state)) writeState(dir, unit, freshState());
    return { ok: true };
  });
}

/** Units that have a unit file, sorted. */
export function listUnitNames(dir: string): string[] {
  try {
    return readdirSync(unitsDir(dir)).filter((f) => f.endsWith('.service')).sort();
  } catch {
    return [];
  }
}

/**
 * Stops every unit that has a running supervisor (test teardown, demo Ctrl-C): SIGTERM to
 * each supervisor, which stops its unit the normal way, then SIGKILL for whatever is still
 * there after the longest stop timeout.
 */
export async function stopAllUnits(dir: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(stateDir(dir)).filter((f) => f.endsWith('.service.json')).map((f) => f.slice(0, -'.json'.length));
  } catch {
    return;
  }
  const pending: { unit: string; supervisor: number; main: number; timeoutMs: number }[] = [];
  for (const unit of names) {
    const state = readState(dir, unit);
    const timeoutMs = readUnit(dir, unit)?.timeoutStopMs ?? 5_000;
    const supervisor = isSupervisorOf(state.supervisorPid, unit) ? state.supervisorPid : 0;
    if (supervisor) signalProcess(supervisor, 'SIGTERM');
    else if (state.mainPid && isAlive(state.mainPid)) signalGroup(state.mainPid, 'SIGTERM');
    else continue;
    pending.push({ unit, supervisor, main: state.mainPid, timeoutMs });
  }
  await Promise.all(
    pending.map(async (p) => {
      const limit = (Number.isFinite(p.timeoutMs) ? p.timeoutMs : 5_000) + STOP_SLACK_MS;
      const gone = await waitForExit(p.supervisor || p.main, limit);
      if (gone && p.supervisor) return;
      if (p.supervisor) signalProcess(p.supervisor, 'SIGKILL');
      if (p.main) signalGroup(p.main, 'SIGKILL');
      try {
        writeState(dir, p.unit, freshState());
      } catch {
        // the directory went away under us: nothing left to record
      }
    }),
  );
}

function lockTimeout(def: UnitDefinition): number {
  const stop = Number.isFinite(def.timeoutStopMs) ? def.timeoutStopMs : 60_000;
  return stop + STOP_SLACK_MS + START_TIMEOUT_MS;
}

function journal(dir: string, unit: string, message: string): void {
  try {
    mkdirSync(logsDir(dir), { recursive: true });
    appendFileSync(logFile(dir, unit), `${message}\n`);
  } catch {
    // best effort, like the supervisor's
  }
}

async function stopLocked(dir: string, def: UnitDefinition): Promise<void> {
  const unit = def.name;
  const state = readState(dir, unit);
  if (!isOwnedBySupervisor(state)) return; // inactive stays inactive, failed stays failed
  const limit = (Number.isFinite(def.timeoutStopMs) ? def.timeoutStopMs : 60_000) + STOP_SLACK_MS;
  if (isSupervisorOf(state.supervisorPid, unit)) {
    signalProcess(state.supervisorPid, 'SIGTERM');
    if (await waitForExit(state.supervisorPid, limit)) return;
    signalProcess(state.supervisorPid, 'SIGKILL');
  }
  // nobody supervises the main process any more: stop it directly
  if (state.mainPid && isAlive(state.mainPid)) {
    signalGroup(state.mainPid, 'SIGTERM');
    signalGroup(state.mainPid, 'SIGCONT');
    if (!(await waitForExit(state.mainPid, Number.isFinite(def.timeoutStopMs) ? def.timeoutStopMs : 60_000))) signalGroup(state.mainPid, 'SIGKILL');
    await waitForExit(state.mainPid, 1_000);
  }
  writeState(dir, unit, freshState(state.startTimes));
}

async function startLocked(dir: string, def: UnitDefinition): Promise<JobResult> {
  const unit = def.name;
  const state = currentState(dir, unit);
  if (isOwnedBySupervisor(state)) return { ok: true }; // already running: start is a no-op
  const now = Date.now();
  const startTimes = pruneStartTimes(state.startTimes, def.startLimitIntervalMs, now);
  if (startTimes.length >= def.startLimitBurst) {
    // observed on systemd 252: a unit already failed keeps its Result; otherwise start-limit-hit
    const result = state.activeState === 'failed' && state.result !== 'success' ? state.result : 'start-limit-hit';
    journal(dir, unit, `${unit}: Start request repeated too quickly.`);
    journal(dir, unit, `${unit}: Failed with result '${result}'.`);
    journal(dir, unit, `Failed to start ${def.description}.`);
    writeState(dir, unit, { ...state, activeState: 'failed', subState: 'failed', result, mainPid: 0, supervisorPid: 0, inactiveEnterTimestamp: now, startTimes });
    return { ok: false, reason: 'failed', result };
  }
  // a start by request resets NRestarts (observed on real systemd); the supervisor takes over from here
  writeState(dir, unit, { ...state, nRestarts: 0, startTimes: [...startTimes, now] });
  mkdirSync(logsDir(dir), { recursive: true });
  const ready = await spawnSupervisor(dir, unit);
  if (!ready) {
    const after = readState(dir, unit);
    if (isSupervisorOf(after.supervisorPid, unit)) signalProcess(after.supervisorPid, 'SIGKILL');
    writeState(dir, unit, { ...after, activeState: 'failed', subState: 'failed', result: 'resources', mainPid: 0, supervisorPid: 0 });
    return { ok: false, reason: 'failed', result: 'resources' };
  }
  return { ok: true };
}

/** Starts the detached supervisor and waits for its `ready` line (or its early death). */
function spawnSupervisor(dir: string, unit: string): Promise<boolean> {
  return new Promise((resolve) => {
    // the supervisor's own crash output lands in the unit's journal, where an operator would look
    const errors = openSync(logFile(dir, unit), 'a');
    const child = spawn(process.execPath, [SUPERVISOR, dir, unit], {
      detached: true,
      stdio: ['ignore', 'ignore', errors, 'pipe'],
      env: process.env,
    });
    closeSync(errors);
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
    let buffered = '';
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pipe?.removeAllListeners();
      (pipe as unknown as { destroy?: () => void })?.destroy?.();
      child.removeAllListeners();
      child.unref();
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false), START_TIMEOUT_MS);
    child.once('error', () => settle(false));
    // no 'exit' handler: the pipe's end comes after its last data, an early exit may not
    pipe?.setEncoding('utf8');
    pipe?.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.includes('ready\n')) settle(true);
    });
    pipe?.once('end', () => settle(buffered.includes('ready')));
    pipe?.once('close', () => settle(buffered.includes('ready')));
    pipe?.once('error', () => settle(buffered.includes('ready')));
  });
}
