import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Event } from '../../shared/protocol/messages.js';

/**
 * The agent's disk spool of unacknowledged events (SPEC §6).
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
 */
export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  fsync: 'always' | 'batch' | 'never';
  batchMs?: number;
  /** called synchronously after events were dropped to stay within maxBytes */
  onDrop?: (lost: LostRange[]) => void;
}

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
  /** events dropped to honour maxBytes since the spool was opened */
  droppedTotal = 0;

  private constructor(private readonly opts: SpoolOptions) {}

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

  append(event: Event): void {
    this.lastBoot = event.bootId;
    const line = `${JSON.stringify(event)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.fd === null || this.segmentBytes + bytes > SEGMENT_ROLL_BYTES) this.roll();
    writeSync(this.fd!, line);
    this.segmentBytes += bytes;
    this.pending.push({ event, bytes });
    this.pendingBytes += bytes;
    this.synced();
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
    this.writeAcked();
    if (this.pending.length === 0) this.compact();
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd !== null) {
      if (this.dirty && this.opts.fsync !== 'never') fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private load(): void {
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
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
    this.compact();
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
      if (this.opts.fsync !== 'never') fsyncSync(this.fd);
      closeSync(this.fd);
    }
    this.segment += 1;
    this.fd = openSync(join(this.opts.dir, `seg-${this.segment}.jsonl`), 'a', 0o600);
    this.segmentBytes = 0;
  }

  /** Replace all segments by one holding just the pending events (atomic via rename). */
  private compact(): void {
    const old = this.segments();
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    this.segment = (old.length ? old[old.length - 1]! : this.segment) + 1;
    const file = join(this.opts.dir, `seg-${this.segment}.jsonl`);
    const tmp = `${file}.tmp`;
    const body = this.pending.map((p) => `${JSON.stringify(p.event)}\n`).join('');
    writeFileSync(tmp, body, { mode: 0o600 });
    if (this.opts.fsync !== 'never') {
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
    renameSync(tmp, file);
    for (const n of old) rmSync(join(this.opts.dir, `seg-${n}.jsonl`), { force: true });
    this.fd = openSync(file, 'a', 0o600);
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
    this.compact();
    this.opts.onDrop?.(ranges);
  }

  private writeAcked(): void {
    const file = join(this.opts.dir, 'acked.json');
    // keep watermarks only for boots that still have pending events and the newest boot:
    // a fully acknowledged old boot needs no memory
    const live = new Set(this.pending.map((p) => p.event.bootId));
    if (this.lastBoot) live.add(this.lastBoot);
    for (const boot of Object.keys(this.acked)) if (!live.has(boot)) delete this.acked[boot];
    writeFileSync(`${file}.tmp`, JSON.stringify(this.acked), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  private synced(): void {
    if (this.opts.fsync === 'always') {
      fsyncSync(this.fd!);
      return;
    }
    if (this.opts.fsync === 'never') return;
    this.dirty = true;
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.fd !== null && this.dirty) {
        fsyncSync(this.fd);
        this.dirty = false;
      }
    }, this.opts.batchMs ?? 200);
    this.syncTimer.unref();
  }
}
