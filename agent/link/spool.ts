import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { chmodIfExists, openWithMode, PRIVATE_FILE_MODE } from '../../shared/file-mode.js';
import { join } from 'node:path';
import type { Event } from '../../shared/protocol/messages.js';

/**
 * The agent's disk spool of unacknowledged events (docs/protocol.md).
 *
 * Layout in `dir`: append-only segment files `seg-<n>.jsonl` (one event per line) and
 * `acked.json` ({ bootId: highest acked seq }, replaced atomically). On open, segments are
 * read back and everything at or below its boot's watermark is dropped, so events survive
 * agent restarts and crashes.
 *
 * Durability (`fsync`): `always` fsyncs each append before it returns (an event is on disk
 * before it is sent); `batch` (default) fsyncs at most every `batchMs` (a power loss can lose
 * the last ~200 ms of events, an agent crash loses nothing: the data is in the page cache);
 * `never` leaves it to the kernel.
 *
 * Bound: when pending events exceed `maxBytes`, the oldest are dropped and reported through
 * `onDrop`, so the caller can emit a `gap` event saying which sequence numbers were lost.
 * Dropped events are always the oldest unacknowledged ones, i.e. those right above the
 * coordinator's watermark.
 *
 * A disk that refuses writes (full, read-only, I/O error) never throws out of the spool: the
 * agent must go on probing and restarting. Pending events live in memory as well, so they are
 * still sent and acknowledged; only an agent restart before the disk recovers would lose
 * them. `onDiskError` hears of the first failure (and of the recovery, with null); every
 * `retryMs` the spool tries to write its whole state again.
 */
export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  fsync: 'always' | 'batch' | 'never';
  batchMs?: number;
  /** called synchronously after events were dropped to stay within maxBytes */
  onDrop?: (lost: LostRange[]) => void;
  /** the disk refused a write (the error), or accepts writes again (null) */
  onDiskError?: (err: NodeJS.ErrnoException | null) => void;
  /** while the disk refuses writes, how often to try again (default 5000 ms) */
  retryMs?: number;
  /** file operations, replaceable in tests to simulate a failing disk */
  fs?: SpoolFs;
}

export interface SpoolFs {
  writeSync(fd: number, data: string): number;
  writeFileSync(file: string, data: string, options: { mode: number }): void;
  fsyncSync(fd: number): void;
}

const realFs: SpoolFs = { writeSync, writeFileSync, fsyncSync };

export interface LostRange {
  bootId: string;
  fromSeq: number;
  toSeq: number;
  count: number;
}

interface Pending {
  event: Event;
  bytes: number;
}

const SEGMENT_RE = /^seg-(\d+)\.jsonl$/;
/** While the disk refuses writes, how often the whole state is written again. */
const DISK_RETRY_MS = 5_000;
/** Start a new segment past this size, so acknowledged data can be deleted file by file. */
const SEGMENT_ROLL_BYTES = 4 * 1024 * 1024;

export class Spool {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private acked: Record<string, number> = {};
  private fd: number | null = null;
  private segment = 0;
  private segmentBytes = 0;
  private dirty = false;
  private lastBoot: string | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** the last disk error while the disk refuses writes; null while the files match memory */
  private diskError: NodeJS.ErrnoException | null = null;
  private lastRetryAt = 0;
  /** retries while the disk refuses writes, also when no event comes to trigger one */
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly fs: SpoolFs;
  private readonly retryMs: number;
  /** events dropped to honour maxBytes since the spool was opened */
  droppedTotal = 0;

  private constructor(private readonly opts: SpoolOptions) {
    this.fs = opts.fs ?? realFs;
    this.retryMs = opts.retryMs ?? DISK_RETRY_MS;
  }

  static open(opts: SpoolOptions): Spool {
    const spool = new Spool(opts);
    spool.load();
    return spool;
  }

  get size(): number {
    return this.pending.length;
  }

  get bytes(): number {
    return this.pendingBytes;
  }

  /** Unacknowledged events, oldest first (per boot in seq order). */
  events(): readonly Event[] {
    return this.pending.map((p) => p.event);
  }

  watermark(bootId: string): number {
    return this.acked[bootId] ?? 0;
  }

  /** Whether the files on disk hold every pending event (false while the disk refuses writes). */
  get onDisk(): boolean {
    return this.diskError === null;
  }

  append(event: Event): void {
    this.lastBoot = event.bootId;
    const line = `${JSON.stringify(event)}\n`;
    const bytes = Buffer.byteLength(line);
    // memory first: whatever the disk does, the event is sent
    this.pending.push({ event, bytes });
    this.pendingBytes += bytes;
    if (this.closed) return; // stopping: kept in memory, the files are no longer ours to write
    if (this.diskError) this.retryDisk();
    else
      this.onDiskOp(() => {
        if (this.fd === null || this.segmentBytes + bytes > SEGMENT_ROLL_BYTES) this.roll();
        const written = this.fs.writeSync(this.fd!, line);
        // a file system running out of space may take part of a line before it says ENOSPC
        if (written !== bytes) throw Object.assign(new Error(`short write: ${written} of ${bytes} bytes`), { code: 'ENOSPC' });
        this.segmentBytes += bytes;
        this.synced();
      });
    if (this.pendingBytes > this.opts.maxBytes) this.dropOldest();
  }

  /** The coordinator stored every event of `bootId` up to `seq`. */
  ack(bootId: string, seq: number): void {
    if (seq <= (this.acked[bootId] ?? 0)) return;
    this.acked[bootId] = seq;
    const keep: Pending[] = [];
    let bytes = 0;
    for (const p of this.pending) {
      if (p.event.bootId === bootId && p.event.seq <= seq) continue;
      keep.push(p);
      bytes += p.bytes;
    }
    this.pending = keep;
    this.pendingBytes = bytes;
    if (this.closed) return;
    if (this.diskError) return this.retryDisk();
    this.onDiskOp(() => {
      this.writeAcked();
      if (this.pending.length === 0) this.compact();
    });
  }

  close(): void {
    if (this.closed) return;
    // a last try: a disk that recovered within the retry interval still gets the pending events
    if (this.diskError) this.retryDisk(true);
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.stopRetrying();
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      this.onDiskOp(() => {
        try {
          if (this.dirty && this.opts.fsync !== 'never') this.fs.fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      });
    }
  }

  /**
   * Runs a disk operation; a failure puts the spool in its disk-error state (reported once)
   * instead of throwing, with the current segment closed so the next write starts clean.
   */
  private onDiskOp(op: () => void): boolean {
    try {
      op();
      return true;
    } catch (err) {
      this.closeQuietly();
      const first = this.diskError === null;
      this.diskError = err as NodeJS.ErrnoException;
      this.lastRetryAt = Date.now();
      if (first && !this.closed) {
        this.retryTimer = setInterval(() => this.retryDisk(true), Math.max(50, this.retryMs));
        this.retryTimer.unref();
        this.report(this.diskError);
      }
      return false;
    }
  }

  private stopRetrying(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }

  /** While the disk refuses writes: at most every retryMs (the timer's tick always), write the whole state again. */
  private retryDisk(due = false): void {
    if (this.closed || !this.diskError || (!due && Date.now() - this.lastRetryAt < this.retryMs)) return;
    this.lastRetryAt = Date.now();
    const ok = this.onDiskOp(() => {
      mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
      this.writeAcked();
      this.compact();
    });
    if (ok) {
      this.diskError = null;
      this.stopRetrying();
      this.report(null);
    }
  }

  private report(err: NodeJS.ErrnoException | null): void {
    try {
      this.opts.onDiskError?.(err);
    } catch {
      /* a reporting problem must not become a spool problem */
    }
  }

  private closeQuietly(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
    this.fd = null;
  }

  private load(): void {
    // a directory that cannot be created (read-only or full file system) holds nothing to
    // replay: start in memory and create it when the disk allows (start-up must not fail)
    if (!this.onDiskOp(() => mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 }))) return;
    // rewritten only at the next ack; until then keep an earlier run's copy private too
    chmodIfExists(join(this.opts.dir, 'acked.json'), PRIVATE_FILE_MODE);
    try {
      this.acked = JSON.parse(readFileSync(join(this.opts.dir, 'acked.json'), 'utf8')) as Record<string, number>;
    } catch {
      this.acked = {};
    }
    const segments = this.segments();
    for (const n of segments) {
      const text = readFileSync(join(this.opts.dir, `seg-${n}.jsonl`), 'utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        let event: Event;
        try {
          event = JSON.parse(line) as Event;
        } catch {
          continue; // a torn last line from a crash mid-write: that event was never sent
        }
        if (event.seq <= (this.acked[event.bootId] ?? 0)) continue;
        const bytes = Buffer.byteLength(line) + 1;
        this.pending.push({ event, bytes });
        this.pendingBytes += bytes;
      }
    }
    this.segment = segments.length ? segments[segments.length - 1]! : 0;
    // rewrite what is still pending into one fresh segment: old files (and torn lines) go
    // (on a full disk the old files stay as they are: they still hold these events)
    this.onDiskOp(() => this.compact());
    if (this.pendingBytes > this.opts.maxBytes) this.dropOldest();
  }

  private segments(): number[] {
    return readdirSync(this.opts.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private roll(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null; // never write to a closed descriptor (its number may be reused)
      try {
        if (this.opts.fsync !== 'never') this.fs.fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.segment += 1;
    this.fd = openWithMode(join(this.opts.dir, `seg-${this.segment}.jsonl`), 'a', PRIVATE_FILE_MODE);
    this.segmentBytes = 0;
  }

  /** Replace all segments by one holding just the pending events (atomic via rename). */
  private compact(): void {
    const old = this.segments();
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null; // never close or write a descriptor number twice
      closeSync(fd);
    }
    this.segment = (old.length ? old[old.length - 1]! : this.segment) + 1;
    const file = join(this.opts.dir, `seg-${this.segment}.jsonl`);
    const body = this.pending.map((p) => `${JSON.stringify(p.event)}\n`).join('');
    this.replaceFile(file, body, this.opts.fsync !== 'never');
    for (const n of old) rmSync(join(this.opts.dir, `seg-${n}.jsonl`), { force: true });
    this.fd = openWithMode(file, 'a', PRIVATE_FILE_MODE);
    this.segmentBytes = Buffer.byteLength(body);
  }

  private dropOldest(): void {
    const lost = new Map<string, LostRange>();
    // keep at most 3/4 of the bound so a burst does not drop one event at a time
    const target = Math.floor(this.opts.maxBytes * 0.75);
    while (this.pending.length > 0 && this.pendingBytes > target) {
      const p = this.pending.shift()!;
      this.pendingBytes -= p.bytes;
      const r = lost.get(p.event.bootId);
      if (r) {
        r.toSeq = Math.max(r.toSeq, p.event.seq);
        r.fromSeq = Math.min(r.fromSeq, p.event.seq);
        r.count++;
      } else lost.set(p.event.bootId, { bootId: p.event.bootId, fromSeq: p.event.seq, toSeq: p.event.seq, count: 1 });
    }
    const ranges = [...lost.values()];
    this.droppedTotal += ranges.reduce((n, r) => n + r.count, 0);
    if (this.diskError) this.retryDisk();
    else this.onDiskOp(() => this.compact());
    this.opts.onDrop?.(ranges);
  }

  private writeAcked(): void {
    const file = join(this.opts.dir, 'acked.json');
    // keep watermarks only for boots that still have pending events and the newest boot:
    // a fully acknowledged old boot needs no memory
    const live = new Set(this.pending.map((p) => p.event.bootId));
    if (this.lastBoot) live.add(this.lastBoot);
    for (const boot of Object.keys(this.acked)) if (!live.has(boot)) delete this.acked[boot];
    this.replaceFile(file, JSON.stringify(this.acked), false);
  }

  /** Replaces `file` atomically (a temp copy, renamed over it). */
  private replaceFile(file: string, body: string, fsync: boolean): void {
    const tmp = `${file}.tmp`;
    try {
      this.fs.writeFileSync(tmp, body, { mode: PRIVATE_FILE_MODE });
      chmodSync(tmp, PRIVATE_FILE_MODE); // the given mode is masked by the umask, and unused for a leftover tmp
      if (fsync) {
        const fd = openSync(tmp, 'r');
        try {
          this.fs.fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    } catch (err) {
      rmSync(tmp, { force: true }); // a half-written copy would only take the space the retry needs
      throw err;
    }
    renameSync(tmp, file);
  }

  private synced(): void {
    if (this.opts.fsync === 'always') {
      this.fs.fsyncSync(this.fd!);
      return;
    }
    if (this.opts.fsync === 'never') return;
    this.dirty = true;
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.fd !== null && this.dirty && !this.diskError) {
        if (this.onDiskOp(() => this.fs.fsyncSync(this.fd!))) this.dirty = false;
      }
    }, this.opts.batchMs ?? 200);
    this.syncTimer.unref();
  }
}
