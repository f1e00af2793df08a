import { chmodSync, closeSync, fchmodSync, openSync } from 'node:fs';

/**
 * Modes of the files llm-health creates. open(2) masks the mode it is given with the
 * process umask, which a service manager or shell may have set to anything (0000 makes every
 * new file world-writable), so the mode is set again on the open file instead of trusted.
 */
/** The database and the agent's spool: events with hostnames, unit names, journal lines. */
export const PRIVATE_FILE_MODE = 0o600;
/** Logs: the owner writes, a log-reading group (Debian's `adm`) may read. */
export const LOG_FILE_MODE = 0o640;

/**
 * openSync(file, flags, mode) whose file ends up with exactly `mode` whatever the umask,
 * also when it existed with another one. A file another user owns keeps its mode (EPERM):
 * an administrator gave it to us that way.
 */
export function openWithMode(file: string, flags: string, mode: number): number {
  const fd = openSync(file, flags, mode);
  try {
    fchmodSync(fd, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') {
      closeSync(fd);
      throw err;
    }
  }
  return fd;
}

/** Creates `file` if missing, with `mode` as openWithMode gives it. */
export function ensureFileMode(file: string, mode: number): void {
  closeSync(openWithMode(file, 'a', mode));
}

/**
 * Sets `mode` on a file left by an earlier run or created by something else (SQLite's -wal
 * and -shm), if it exists. Best effort: a file system that refuses (read-only, full) will be
 * reported by the next real write, not by this.
 */
export function chmodIfExists(file: string, mode: number): void {
  try {
    chmodSync(file, mode);
  } catch {
    /* see above */
  }
}
