/**
 * A private service-manager stand-in per test: its own state directory, `systemctl` and
 * `journalctl` first on PATH, and a teardown that leaves no process behind.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinDir, standInEnv } from '../../demo/service-manager/install-bin.js';
import { currentState, stopAllUnits } from '../../demo/service-manager/manager.js';
import { callsLog, journalCallsLog } from '../../demo/service-manager/paths.js';
import { isAlive } from '../../demo/service-manager/processes.js';
import type { UnitState } from '../../demo/service-manager/state.js';
import { writeUnit, type WriteUnitOptions } from '../../demo/service-manager/units.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServiceSandbox {
  dir: string;
  binDir: string;
  /** the test's environment with the stand-in first on PATH and LLMH_SERVICE_DIR set */
  env: NodeJS.ProcessEnv;
  writeUnit(name: string, options: WriteUnitOptions): string;
  /** runs the stand-in's systemctl (recorded in calls.log like any other caller's) */
  systemctl(...args: string[]): Promise<CommandResult>;
  /** argv of every systemctl invocation so far */
  calls(): string[][];
  journalCalls(): string[][];
  clearCalls(): void;
  /** the unit's state, read directly (no systemctl call, so calls.log stays as it was) */
  state(unit: string): UnitState;
  /** MainPID, read directly; 0 when the unit is not running */
  mainPid(unit: string): number;
  /** stops every unit and removes the directory */
  cleanup(): Promise<void>;
}

export function createServiceSandbox(): ServiceSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-sm-'));
  const binDir = ensureBinDir();
  const env = standInEnv(dir);
  const readLines = (file: string): string[][] => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    } catch {
      return [];
    }
  };
  return {
    dir,
    binDir,
    env,
    writeUnit: (name, options) => writeUnit(dir, name, options),
    systemctl: (...args) => runCommand(join(binDir, 'systemctl'), args, env),
    calls: () => readLines(callsLog(dir)),
    journalCalls: () => readLines(journalCallsLog(dir)),
    clearCalls: () => {
      writeFileSync(callsLog(dir), '');
      writeFileSync(journalCallsLog(dir), '');
    },
    state: (unit) => currentState(dir, unit),
    mainPid: (unit) => currentState(dir, unit).mainPid,
    cleanup: async () => {
      await stopAllUnits(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export { freePort } from '../../demo/free-port.js';

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * `process.kill` for tests, refusing pid 0 and negatives: kill(0, SIG) signals the test
 * runner's own process group (a SIGSTOP there freezes the whole run), and a unit that is not
 * running has MainPID 0.
 */
export function signalPid(pid: number, signal: NodeJS.Signals | 0): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`refusing to signal pid ${pid}: not a process`);
  process.kill(pid, signal);
}

/** Whether a process is still there (zombies count as gone: nobody can run in them). */
export function processExists(pid: number): boolean {
  return isAlive(pid);
}

/** `node -e` source for a loopback HTTP server that answers `ok` on `port`. */
export function httpServerScript(port: number): string {
  return `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1',()=>console.log('listening on ${port}'))`;
}
