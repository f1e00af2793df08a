import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../shared/file-mode.js';

/** How many command ids are remembered; the coordinator re-sends only those of jobs in flight. */
export const LEDGER_CAPACITY = 1000;
export const LEDGER_FILE = 'commands.json';

export type CommandPhase = 'running' | 'done';

interface Entry {
  id: string;
  phase: CommandPhase;
  service?: string;
  /** epoch ms when the command was first received */
  at: number;
}

/**
 * The coordinator's command ids this agent has acted on, kept on disk (beside the spool) so
 * that a command re-sent after a reconnect, a coordinator restart or an agent restart is
 * never run twice. An id is written as `running` before anything is done for it: an agent
 * killed mid-restart finds it on start and reports it as not completed instead of repeating
 * it. A disk that refuses writes is survived: the ids are still kept in memory.
 */
export class CommandLedger {
  private readonly entries = new Map<string, Entry>();

  private constructor(
    private readonly file: string | null,
    private readonly onDiskError: (err: Error) => void,
  ) {}

  /** `dir` null: memory only (an agent without a spool directory). */
  static open(dir: string | null, onDiskError: (err: Error) => void = () => undefined): CommandLedger {
    const ledger = new CommandLedger(dir === null ? null : join(dir, LEDGER_FILE), onDiskError);
    if (dir !== null) ledger.load(dir);
    return ledger;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Ids recorded as `running` (by an agent process that ended before finishing them). */
  unfinished(): { id: string; service?: string }[] {
    return [...this.entries.values()].filter((e) => e.phase === 'running').map((e) => ({ id: e.id, ...(e.service ? { service: e.service } : {}) }));
  }

  record(id: string, phase: CommandPhase, at: number, service?: string): void {
    const old = this.entries.get(id);
    this.entries.delete(id);
    const name = service ?? old?.service;
    this.entries.set(id, { id, phase, at: old?.at ?? at, ...(name ? { service: name } : {}) });
    while (this.entries.size > LEDGER_CAPACITY) this.entries.delete(this.entries.keys().next().value as string);
    this.save();
  }

  private load(dir: string): void {
    let text: string;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      text = readFileSync(this.file!, 'utf8');
    } catch {
      return; // none yet
    }
    try {
      for (const e of JSON.parse(text) as Entry[]) {
        if (typeof e?.id !== 'string' || (e.phase !== 'running' && e.phase !== 'done')) continue;
        this.entries.set(e.id, { id: e.id, phase: e.phase, at: Number(e.at) || 0, ...(typeof e.service === 'string' ? { service: e.service } : {}) });
      }
    } catch (err) {
      this.onDiskError(new Error(`${this.file}: unreadable (${(err as Error).message}); starting with no remembered commands`));
    }
  }

  /** Written whole to a temporary file, synced, then renamed over the old one: never torn. */
  private save(): void {
    if (this.file === null) return;
    const tmp = `${this.file}.tmp`;
    try {
      const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
      try {
        writeSync(fd, JSON.stringify([...this.entries.values()]));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      this.onDiskError(err as Error);
    }
  }
}
