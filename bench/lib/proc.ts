/**
 * Process bookkeeping for benchmarks: every child runs in its own process group, is
 * tracked here, and is killed (group-wide, SIGCONT first so a stopped one dies too) on the
 * way out, whether the benchmark ends normally, throws, or is interrupted. Also the /proc
 * readers the benchmarks measure with (CPU ticks, RSS).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const tracked = new Set<ChildProcess>();
const syncCleanups = new Set<() => void>();
let handlersInstalled = false;

/** Spawns `cmd` as the leader of a new process group and tracks it for cleanup. */
export function spawnGroup(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  installExitHandlers();
  const child = spawn(cmd, args, { ...options, detached: true });
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  child.once('error', () => tracked.delete(child));
  return child;
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/** Signals the child's whole process group; false when there was nothing to signal. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
export async function stopGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!child.pid) return;
  const exited = isRunning(child) ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
  signalGroup(child.pid, 'SIGCONT');
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
  await Promise.race([exited, sleep(graceMs + 2_000)]);
  clearTimeout(timer);
  // whatever the leader left behind in its group goes too
  signalGroup(child.pid, 'SIGKILL');
  tracked.delete(child);
  await sleep(100);
  for (const pid of groupMembers(child.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Live (non-zombie) processes whose process group is `pgid`, from /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // f[0] is the state (field 3), f[2] the process group (field 5)
      if (f[0] !== 'Z' && f[0] !== 'X' && Number(f[2]) === pgid) out.push(Number(n));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** A synchronous last-resort cleanup (kill units, remove files) run if the process dies early. */
export function onEmergencyExit(fn: () => void): () => void {
  installExitHandlers();
  syncCleanups.add(fn);
  return () => syncCleanups.delete(fn);
}

function killAllSync(): void {
  for (const child of tracked) {
    signalGroup(child.pid, 'SIGCONT');
    signalGroup(child.pid, 'SIGKILL');
  }
  tracked.clear();
  for (const fn of syncCleanups) {
    try {
      fn();
    } catch {
      // best effort: we are going down anyway
    }
  }
  syncCleanups.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: killing benchmark processes\n`);
      killAllSync();
      process.exit(130);
    });
  }
}

/** utime+stime and cutime+cstime of a process, in clock ticks (1/100 s on Linux). */
export interface ProcTimes {
  self: number;
  children: number;
}

export const CLK_TCK = 100;

export function procTimes(pid: number | 'self'): ProcTimes | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
    const n = (i: number) => Number(fields[i - 3]);
    return { self: n(14) + n(15), children: n(16) + n(17) };
  } catch {
    return null;
  }
}

/**
 * CPU time of every thread of a process so far, in ms, from /proc/PID/task/TID/schedstat
 * (nanoseconds, where /proc/PID/stat counts 10 ms ticks: over a 30 s window at ~1 % of a
 * core the ticks alone are ±3 %). Falls back to the ticks where schedstat is missing.
 */
export function threadCpuMs(pid: number): number | null {
  let ns = 0;
  let read = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        read++;
      } catch {
        // a thread that ended between the listing and the read
      }
    }
  } catch {
    return null;
  }
  if (read > 0) return ns / 1e6;
  const t = procTimes(pid);
  return t ? t.self * (1000 / CLK_TCK) : null;
}

export interface ProcMemory {
  rssKb: number;
  hwmKb: number;
}

export function procMemory(pid: number): ProcMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Polls `check` every `everyMs` until truthy or `timeoutMs`; null on timeout (never throws). */
export async function pollUntil<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 20): Promise<NonNullable<T> | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() >= deadline) return null;
    await sleep(everyMs);
  }
}

/** Calls `onLine` for every line the child writes to stdout or stderr (partial lines bounded). */
export function forEachLine(child: ChildProcess, onLine: (line: string) => void, maxBufferedChars = 64 * 1024): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (buf.length > maxBufferedChars) buf = '';
    });
  }
}

/**
 * Waits until GET `url` answers 2xx. Throws when the child exits first or after
 * `timeoutMs` (stopping the child), with `context()` in the message (its last log lines).
 */
export async function waitUntilReady(child: ChildProcess, what: string, url: string, context: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) at startup: ${context()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new Error(`${what} did not answer ${url} within ${timeoutMs / 1000} s: ${context()}`);
    }
    await sleep(100);
  }
}

export { freePort } from '../../demo/free-port.js';
