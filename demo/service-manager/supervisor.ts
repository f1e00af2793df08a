/**
 * The stand-in's per-unit "service manager": one detached process per started unit that
 * runs ExecStart, watches it, records how it ended and applies Restart=. systemctl starts it
 * and waits for the `ready` line on fd 3 (the Type=simple "started" point); after that, this
 * process alone writes the unit's state until the unit is inactive or failed again.
 *
 * Usage (internal): node supervisor.js DIR UNIT
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { logFile, logsDir, unitsDir } from './paths.js';
import { readUnit, substituteEnv, type UnitDefinition } from './units.js';
import { CLD_EXITED, CLD_KILLED, freshState, pruneStartTimes, readState, writeState, type UnitState } from './state.js';
import { signalGroup } from './processes.js';
import { exitStatusName } from './exit-status.js';

// installed first: a stop that arrives while the unit starts must not kill this process
// before it has recorded anything
process.on('SIGTERM', () => requestStop());
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

const [dir, unitName] = process.argv.slice(2) as [string, string];
const READY_FD = 3;

/** systemd counts death by these signals as a clean exit (SuccessExitStatus defaults). */
const CLEAN_SIGNALS = new Set<NodeJS.Signals>(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']);
/** A few environment variables a service manager passes on; the caller's environment is not one. */
const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// owned from the first moment, so a stop during an exec-failure restart loop still finds us
let state: UnitState = { ...readState(dir, unitName), supervisorPid: process.pid };
let child: ChildProcess | null = null;
let stopRequested = false;
let stopTimedOut = false;
let stopTimer: NodeJS.Timeout | undefined;
let wakeRestartWait: (() => void) | undefined;
let readySent = false;
let dirGone = false;

function save(next: UnitState): void {
  state = next;
  // a deleted state directory means the test or demo is gone: do not recreate it
  if (!dirGone && !existsSync(unitsDir(dir))) dirGone = true;
  if (!dirGone) writeState(dir, unitName, state);
}

function journal(message: string): void {
  if (dirGone) return;
  try {
    appendFileSync(logFile(dir, unitName), `${message}\n`);
  } catch {
    // the journal is best effort, as journald's rate limiting makes it in systemd too
  }
}

function signalReady(): void {
  if (readySent) return;
  readySent = true;
  try {
    writeSync(READY_FD, 'ready\n');
    closeSync(READY_FD);
  } catch {
    // started by hand, without a systemctl waiting on fd 3
  }
}

function requestStop(): void {
  if (stopRequested) return;
  stopRequested = true;
  if (child && state.mainPid) beginStop(state.mainPid);
  wakeRestartWait?.();
}

/** KillMode=control-group: the whole process group gets SIGTERM (+SIGCONT), then SIGKILL. */
function beginStop(pid: number): void {
  journal(`Stopping ${unitName}...`);
  save({ ...state, activeState: 'deactivating', subState: 'stop-sigterm' });
  signalGroup(pid, 'SIGTERM');
  // a SIGSTOPped process would otherwise never see the SIGTERM (systemd sends SIGCONT too)
  signalGroup(pid, 'SIGCONT');
  const timeout = unit.timeoutStopMs;
  if (Number.isFinite(timeout)) {
    stopTimer = setTimeout(() => {
      stopTimedOut = true;
      journal(`${unitName}: State 'stop-sigterm' timed out. Killing.`);
      journal(`${unitName}: Killing process ${pid} with signal SIGKILL.`);
      signalGroup(pid, 'SIGKILL');
    }, timeout);
  }
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...unit.environment };
}

/** Spawns ExecStart once; resolves when the main process has ended. */
async function runMainProcess(): Promise<Exit> {
  const now = Date.now();
  const base: UnitState = {
    ...state,
    result: 'success',
    execMainCode: 0,
    execMainStatus: 0,
    execMainExitTimestamp: 0,
    execMainStartTimestamp: now,
    supervisorPid: process.pid,
  };
  const argv = substituteEnv(unit.execStart, unit.environment);
  if (unit.workingDirectory && !existsSync(unit.workingDirectory)) {
    journal(`${unitName}: Changing to the requested working directory failed: No such file or directory`);
    return { code: 200, signal: null };
  }
  if (!argv.length) {
    journal(`${unitName}: Service has no ExecStart= setting. Refusing.`);
    return { code: 203, signal: null };
  }
  mkdirSync(logsDir(dir), { recursive: true });
  // systemd logs this at fork time, so it comes before anything the service prints
  journal(`Started ${unit.description}.`);
  const out = openSync(logFile(dir, unitName), 'a');
  let proc: ChildProcess;
  try {
    // detached: the process group stands in for the unit's cgroup
    proc = spawn(argv[0]!, argv.slice(1), { cwd: unit.workingDirectory, env: childEnv(), detached: true, stdio: ['ignore', out, out] });
  } catch (err) {
    closeSync(out);
    return execFailed(argv[0]!, err);
  }
  closeSync(out);
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const spawnError = await new Promise<unknown>((resolve) => {
    proc.once('spawn', () => resolve(null));
    proc.once('error', (err) => resolve(err));
  });
  if (spawnError || !proc.pid) return execFailed(argv[0]!, spawnError);
  child = proc;
  save({ ...base, activeState: 'active', subState: 'running', mainPid: proc.pid, execMainPid: proc.pid, activeEnterTimestamp: Date.now() });
  signalReady();
  if (stopRequested) beginStop(proc.pid);
  const exit = await exited;
  child = null;
  clearTimeout(stopTimer);
  // KillMode=control-group: nothing the main process left behind outlives it
  signalGroup(proc.pid, 'SIGKILL');
  return exit;
}

/** systemd's 203/EXEC: the program could not be executed at all. */
function execFailed(program: string, err: unknown): Exit {
  const reason = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? 'No such file or directory' : String((err as Error | null)?.message ?? err);
  journal(`${unitName}: Failed to execute ${program}: ${reason}`);
  journal(`${unitName}: Failed at step EXEC spawning ${program}: ${reason}`);
  return { code: 203, signal: null };
}

function shouldRestart(clean: boolean, bySignal: boolean): boolean {
  switch (unit.restart) {
    case 'always':
      return true;
    case 'on-success':
      return clean;
    case 'on-failure':
      return !clean;
    case 'on-abnormal':
    case 'on-abort':
      return !clean && bySignal;
    default:
      return false;
  }
}

function describeExit(exit: Exit): { code: number; status: number; text: string } {
  if (exit.signal) {
    const n = constants.signals[exit.signal] ?? 0;
    return { code: CLD_KILLED, status: n, text: `code=killed, status=${n}/${exit.signal.replace(/^SIG/, '')}` };
  }
  const status = exit.code ?? 0;
  return { code: CLD_EXITED, status, text: `code=exited, status=${status}/${exitStatusName(status)}` };
}

async function waitRestartSec(): Promise<void> {
  if (stopRequested) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, unit.restartSecMs);
    wakeRestartWait = () => {
      clearTimeout(t);
      resolve();
    };
  });
  wakeRestartWait = undefined;
}

function finish(code: number): never {
  signalReady();
  process.exit(code);
}

const maybeUnit = readUnit(dir, unitName);
if (!maybeUnit) {
  journal(`${unitName}: unit file not found, nothing to run.`);
  save({ ...state, activeState: 'failed', subState: 'failed', result: 'resources', mainPid: 0, supervisorPid: 0 });
  finish(1);
}
const unit: UnitDefinition = maybeUnit;

// the test or demo removed the whole state directory without stopping: stop, do not linger
setInterval(() => {
  if (!existsSync(unitsDir(dir))) {
    dirGone = true;
    requestStop();
  }
}, 1000).unref();

for (;;) {
  const exit = await runMainProcess();
  const { code, status, text } = describeExit(exit);
  const now = Date.now();
  const bySignal = exit.signal !== null;
  // a `-` prefix turns any failure into success, signals included
  const clean = unit.ignoreFailure || (bySignal ? CLEAN_SIGNALS.has(exit.signal!) : status === 0);
  const ended: UnitState = { ...state, mainPid: 0, execMainCode: code, execMainStatus: status, execMainExitTimestamp: now };
  journal(`${unitName}: Main process exited, ${text}`);

  if (stopRequested) {
    if (stopTimedOut) {
      journal(`${unitName}: Failed with result 'timeout'.`);
      save({ ...ended, activeState: 'failed', subState: 'failed', result: 'timeout', inactiveEnterTimestamp: now, supervisorPid: 0 });
    } else {
      journal(`Stopped ${unit.description}.`);
      // not yet garbage-collected: a restart's start job still sees how the old process ended
      save({ ...ended, activeState: 'inactive', subState: 'dead', result: 'success', inactiveEnterTimestamp: now, supervisorPid: 0 });
    }
    finish(0);
  }

  const result = clean ? 'success' : bySignal ? 'signal' : 'exit-code';
  if (!shouldRestart(clean, bySignal)) {
    if (clean) {
      journal(`${unitName}: Deactivated successfully.`);
      save(freshState(state.startTimes));
    } else {
      journal(`${unitName}: Failed with result '${result}'.`);
      save({ ...ended, activeState: 'failed', subState: 'failed', result, inactiveEnterTimestamp: now, supervisorPid: 0 });
    }
    finish(0);
  }

  if (!clean) journal(`${unitName}: Failed with result '${result}'.`);
  save({ ...ended, activeState: 'activating', subState: 'auto-restart', result });
  signalReady();
  await waitRestartSec();
  if (stopRequested) {
    journal(`Stopped ${unit.description}.`);
    save(freshState(state.startTimes));
    finish(0);
  }
  // systemd counts the restart before it checks the start limit (observed: NRestarts=5 at burst 5)
  const nRestarts = state.nRestarts + 1;
  const startTimes = pruneStartTimes(state.startTimes, unit.startLimitIntervalMs, Date.now());
  if (startTimes.length >= unit.startLimitBurst) {
    journal(`${unitName}: Start request repeated too quickly.`);
    journal(`${unitName}: Failed with result '${result}'.`);
    journal(`Failed to start ${unit.description}.`);
    // observed on systemd 252: an auto-restart refused by the limit keeps the failure's Result
    save({ ...state, nRestarts, activeState: 'failed', subState: 'failed', inactiveEnterTimestamp: Date.now(), supervisorPid: 0, startTimes });
    finish(0);
  }
  journal(`${unitName}: Scheduled restart job, restart counter is at ${nRestarts}.`);
  save({ ...state, nRestarts, startTimes: [...startTimes, Date.now()] });
}
