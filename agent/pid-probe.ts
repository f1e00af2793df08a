import { closeSync, openSync, readSync } from 'node:fs';

/** Answers "is this PID still a running process?", cheaply enough to ask every second. */
export interface PidProbe {
  alive(pid: number): boolean;
  /** releases the open /proc file */
  close(): void;
}

/**
 * Keeps `/proc/PID/stat` open and re-reads it in place: one read per check instead of
 * open + stat + read + close, and the open file stays bound to that process, so a PID reused
 * by another process reads as gone rather than alive. A zombie (state Z/X) still answers
 * kill(pid, 0), and on hosts whose PID 1 does not reap orphans a dead server can stay a
 * zombie for long, so the state letter is what counts. Without /proc: kill(pid, 0).
 */
export function createPidProbe(): PidProbe {
  let pid = 0;
  let fd: number | null = null;
  const buf = Buffer.alloc(1024);
  const release = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return {
    alive(wanted) {
      if (wanted <= 0) return false;
      if (wanted !== pid || fd === null) {
        release();
        pid = wanted;
        try {
          fd = openSync(`/proc/${wanted}/stat`, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
          return signalZero(wanted);
        }
      }
      try {
        const n = readSync(fd!, buf, 0, buf.length, 0);
        // "PID (comm) S ...": comm may contain spaces and parentheses, so the last ')' counts
        const close = buf.lastIndexOf(0x29, n - 1);
        const state = close >= 0 ? buf[close + 2] : undefined;
        return state !== 0x5a /* Z */ && state !== 0x58 /* X */;
      } catch {
        // ESRCH: the process is gone (and reaped)
        release();
        pid = 0;
        return false;
      }
    },
    close: release,
  };
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
