/**
 * A per-unit lock so two systemctl invocations (the agent's restart and a test's kill, say)
 * run their jobs one after the other, as systemd's job queue would. The lock file holds the
 * owner's pid; a lock whose owner died is taken over.
 */
import { mkdirSync, linkSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockFile, stateDir } from './paths.js';
import { isAlive } from './processes.js';

export async function withUnitLock<T>(dir: string, unit: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir(dir), { recursive: true });
  const path = lockFile(dir, unit);
  const deadline = Date.now() + timeoutMs;
  // link() publishes the lock with its owner already written: no reader sees an empty lock
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  for (;;) {
    try {
      linkSync(mine, path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        unlinkQuiet(mine);
        throw err;
      }
      if (!isAlive(ownerOf(path))) {
        unlinkQuiet(path);
        continue;
      }
      if (Date.now() >= deadline) {
        unlinkQuiet(mine);
        throw new Error(`timed out waiting for the job lock of ${unit}`);
      }
      await sleep(10);
    }
  }
  unlinkQuiet(mine);
  try {
    return await fn();
  } finally {
    unlinkQuiet(path);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function ownerOf(path: string): number {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}
