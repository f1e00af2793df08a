/**
 * Process liveness and signalling for the stand-in. Liveness reads /proc where it can,
 * because an orphan that exited stays a zombie on a PID 1 that does not reap (as on the
 * test VMs), and `kill(pid, 0)` succeeds on a zombie.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X';
}

/** The one-letter state from /proc/PID/stat, or null when /proc cannot tell. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name is in parentheses and may itself contain spaces or parentheses
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is the stand-in's supervisor for `unit`, so that a recycled pid is never
 * mistaken for it (and never signalled).
 */
export function isSupervisorOf(pid: number, unit: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a.endsWith('supervisor.js')) && args.includes(unit);
  } catch {
    return true; // no /proc: trust the pid
  }
}

/** Signals a process group (the unit's "cgroup"); false when nothing was there to signal. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals | number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone; true when it went within `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}
