import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type DestinationStream } from 'pino';
import { LOG_FILE_MODE, openWithMode } from './file-mode.js';

/** What a log destination built by pino.destination() offers (sonic-boom). */
export interface FileDestination extends DestinationStream {
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  flushSync(): void;
  destroy(): void;
}

/**
 * A log file (and its directory) as a synchronous pino destination. The file gets
 * LOG_FILE_MODE whatever the umask: sonic-boom would create it 0666 less the umask, which
 * under `UMask=0000` lets anyone rewrite the log.
 */
export function openLogFile(path: string): FileDestination {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const fd = openWithMode(path, 'a', LOG_FILE_MODE);
  return pino.destination({ dest: fd, sync: true }) as unknown as FileDestination;
}

export interface GuardedDestinationOptions {
  /** opens the destination; called at construction (a failure there is thrown) and to retry */
  open: () => FileDestination;
  /** the destination failed (err, lines dropped so far) or works again (null, lines dropped meanwhile) */
  onTrouble: (err: NodeJS.ErrnoException | null, dropped: number) => void;
  /** how long to drop lines after a failure before opening the destination again */
  retryMs?: number;
  now?: () => number;
}

/**
 * A log file that never takes the process down: a full or failing disk under `log.file`
 * must not stop the agent from probing and restarting (nor the coordinator from alerting).
 * A write error drops the destination and its buffered lines; lines are counted and dropped
 * until, `retryMs` later, a fresh destination takes them again. Opening at start-up still
 * throws: a log file that cannot even be opened is a configuration problem to report.
 */
export class GuardedDestination implements DestinationStream {
  private dest: FileDestination | null;
  /** set by the current destination's 'error' event (sonic-boom reports write errors so) */
  private pendingError: NodeJS.ErrnoException | null = null;
  private failing = false;
  private failedAt = 0;
  private dropped = 0;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: GuardedDestinationOptions) {
    this.retryMs = opts.retryMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    this.dest = this.attach(opts.open());
  }

  write(line: string): boolean {
    if (!this.dest) {
      if (this.now() - this.failedAt < this.retryMs) return this.drop();
      try {
        this.dest = this.attach(this.opts.open());
      } catch (err) {
        return this.drop(err as NodeJS.ErrnoException);
      }
    }
    try {
      this.dest.write(line);
    } catch (err) {
      this.pendingError ??= err as NodeJS.ErrnoException;
    }
    if (this.pendingError) {
      const err = this.pendingError;
      this.abandon();
      return this.drop(err);
    }
    if (this.failing) {
      this.failing = false;
      const dropped = this.dropped;
      this.dropped = 0;
      this.opts.onTrouble(null, dropped);
    }
    return true;
  }

  flushSync(): void {
    try {
      this.dest?.flushSync();
    } catch {
      /* flushing on the way out: nothing left to do about a failing disk */
    }
  }

  private attach(dest: FileDestination): FileDestination {
    this.pendingError = null;
    dest.on('error', (err) => {
      if (this.dest === dest) this.pendingError ??= err; // an abandoned one may still report its close
    });
    return dest;
  }

  private abandon(): void {
    const dest = this.dest;
    this.dest = null;
    this.pendingError = null;
    try {
      dest?.destroy(); // drops its buffered lines and closes the file
    } catch {
      /* already broken */
    }
  }

  /** Counts the line as dropped; with an error, (re)starts the wait before the next try. */
  private drop(err?: NodeJS.ErrnoException): boolean {
    this.dropped++;
    if (err) {
      this.failedAt = this.now();
      if (!this.failing) {
        this.failing = true;
        this.opts.onTrouble(err, this.dropped);
      }
    }
    return true;
  }
}
