import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { PRIVATE_FILE_MODE } from '../../shared/file-mode.js';
import type { MaintenanceMessage } from '../../shared/protocol/messages.js';

export const MAINTENANCE_FILE = 'maintenance.json';
/** setTimeout's limit; a longer window is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Window {
  /** epoch ms, this agent's clock */
  until: number;
  comment: string;
}

/**
 * The host's maintenance window as the coordinator last told it (docs/protocol.md,
 * `maintenance`): while it lasts the agent starts no automatic restart (probing, events and
 * operator restarts go on). Kept on disk beside the spool so that it outlives a reconnect
 * and an agent restart, and ended by the agent's own clock at `until`, so a host is never
 * left paused by a coordinator that is gone.
 */
export class MaintenancePause {
  private window: Window | null = null;
  private timer: TimerHandle | undefined;

  private constructor(
    private readonly file: string | null,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** `dir` null: memory only. */
  static open(dir: string | null, clock: Clock, logger: Logger): MaintenancePause {
    const pause = new MaintenancePause(dir === null ? null : join(dir, MAINTENANCE_FILE), clock, logger);
    pause.load();
    return pause;
  }

  /** True while automatic restarts are paused. */
  active(): boolean {
    return this.window !== null && this.clock.now() < this.window.until;
  }

  /** The coordinator's word: a window (replacing the one held) or its end. */
  apply(msg: MaintenanceMessage): void {
    const until = msg.until === null ? null : Date.parse(msg.until);
    if (until === null || until <= this.clock.now()) {
      if (this.window) this.logger.info('maintenance ended by the coordinator: automatic restarts resume');
      this.set(null);
      return;
    }
    const comment = msg.comment ?? '';
    if (this.window?.until !== until || this.window.comment !== comment) {
      this.logger.info({ until: new Date(until).toISOString(), comment }, 'maintenance: automatic restarts paused until then');
    }
    this.set({ until, comment });
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private set(window: Window | null): void {
    this.window = window;
    this.save();
    this.arm();
  }

  private arm(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.window) return;
    const left = this.window.until - this.clock.now();
    this.timer = this.clock.setTimeout(() => {
      if (this.active()) return this.arm();
      this.logger.info('maintenance window over: automatic restarts resume');
      this.set(null);
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
  }

  private load(): void {
    if (this.file === null) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // none
    }
    try {
      const w = JSON.parse(text) as Partial<Window> | null;
      if (w && typeof w.until === 'number' && w.until > this.clock.now()) {
        this.window = { until: w.until, comment: typeof w.comment === 'string' ? w.comment : '' };
        this.logger.info({ until: new Date(w.until).toISOString() }, 'maintenance window from before the restart: automatic restarts paused until then');
        this.arm();
      }
    } catch (err) {
      this.logger.warn({ file: this.file, err: (err as Error).message }, 'unreadable maintenance file: no window held');
    }
  }

  /** Written whole to a temporary file, synced, then renamed over the old one. */
  private save(): void {
    if (this.file === null) return;
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
      try {
        writeSync(fd, JSON.stringify(this.window));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.error({ file: this.file, err: (err as Error).message }, 'cannot write the maintenance file: the window is held in memory only');
    }
  }
}
