import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, fsyncSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Spool, type LostRange } from '../../../agent/link/spool.js';
import type { Event } from '../../../shared/protocol/messages.js';
import { modeOf, withUmask } from '../../helpers/umask.js';

const ev = (bootId: string, seq: number, reason = 'x'): Event => ({ agentId: 'a', bootId, seq, at: new Date(0).toISOString(), type: 'state_changed', service: 's', from: 'healthy', to: 'down', reason });
const made: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'llmh-spool-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

test('events survive a reopen until acknowledged, in order', () => {
  const d = dir();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always' });
  for (let i = 1; i <= 5; i++) s.append(ev('b1', i));
  s.close();
  const again = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always' });
  assert.deepEqual(again.events().map((e) => e.seq), [1, 2, 3, 4, 5]);
  again.ack('b1', 3);
  again.close();
  const third = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'batch' });
  assert.deepEqual(third.events().map((e) => e.seq), [4, 5]);
  third.ack('b1', 5);
  assert.equal(third.size, 0);
  third.close();
  // fully acknowledged: one empty segment left, nothing replayed
  assert.equal(Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' }).size, 0);
});

test('events of an older boot are kept apart from the new boot and acked per boot', () => {
  const d = dir();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
  s.append(ev('old', 1));
  s.append(ev('old', 2));
  s.append(ev('new', 1));
  s.ack('new', 1);
  assert.deepEqual(s.events().map((e) => `${e.bootId}:${e.seq}`), ['old:1', 'old:2']);
  s.ack('old', 2);
  assert.equal(s.size, 0);
  s.close();
});

test('a torn last line (crash mid-write) is skipped, the rest replays', () => {
  const d = dir();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always' });
  s.append(ev('b', 1));
  s.append(ev('b', 2));
  s.close();
  const seg = readdirSync(d).find((f) => f.startsWith('seg-'))!;
  appendFileSync(join(d, seg), '{"agentId":"a","bootId":"b","se');
  const again = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always' });
  assert.deepEqual(again.events().map((e) => e.seq), [1, 2]);
  again.close();
});

test('the bound drops the oldest events and reports exactly which sequence numbers were lost', () => {
  const d = dir();
  const lost: LostRange[][] = [];
  const s = Spool.open({ dir: d, maxBytes: 65536, fsync: 'never', onDrop: (r) => lost.push(r) });
  const reason = 'r'.repeat(500);
  let seq = 0;
  while (lost.length === 0 && seq < 10_000) s.append(ev('b', ++seq, reason));
  assert.ok(lost.length === 1, 'a drop happened');
  const [range] = lost[0]!;
  assert.equal(range!.bootId, 'b');
  assert.equal(range!.fromSeq, 1);
  assert.equal(range!.count, range!.toSeq);
  assert.ok(s.bytes <= 65536);
  assert.equal(s.events()[0]!.seq, range!.toSeq + 1, 'what is left starts right after the lost range');
  assert.equal(s.droppedTotal, range!.count);
  s.close();
  // the files on disk were compacted to the bound too
  const onDisk = readdirSync(d).filter((f) => f.startsWith('seg-')).reduce((n, f) => n + readFileSync(join(d, f)).length, 0);
  assert.ok(onDisk <= 65536, `spool files hold ${onDisk} bytes`);
});

/** What the spool reports through onDiskError: an error's code, or null for a recovery. */
function diskReports() {
  const reports: (string | null)[] = [];
  return { reports, onDiskError: (e: NodeJS.ErrnoException | null) => reports.push(e ? (e.code ?? '?') : null) };
}

/** A disk that can be switched to refuse writes (ENOSPC), and counts the attempts. */
function flakyDisk() {
  const real = { writeSync, writeFileSync, fsyncSync };
  const disk = {
    full: false,
    /** bytes a write may still take before ENOSPC (a short write), when set */
    room: Infinity,
    attempts: 0,
    fs: {
      writeSync(fd: number, data: string): number {
        disk.attempts++;
        if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        if (Buffer.byteLength(data) > disk.room) return real.writeSync(fd, Buffer.from(data).subarray(0, disk.room));
        return real.writeSync(fd, data);
      },
      writeFileSync(file: string, data: string, options: { mode: number }): void {
        disk.attempts++;
        if (disk.full) {
          real.writeFileSync(file, data.slice(0, 10), options); // a half-written file, as a full disk leaves it
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        real.writeFileSync(file, data, options);
      },
      fsyncSync: (fd: number) => real.fsyncSync(fd),
    },
  };
  return disk;
}

test('a disk that refuses writes: nothing throws, events stay pending in memory, one report; once it recovers the files hold them all', () => {
  const d = dir();
  const disk = flakyDisk();
  const { reports, onDiskError } = diskReports();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always', fs: disk.fs, retryMs: 0, onDiskError });
  s.append(ev('b', 1));
  s.append(ev('b', 2));
  disk.full = true;
  for (let i = 3; i <= 5; i++) s.append(ev('b', i));
  s.ack('b', 1);
  assert.deepEqual(reports, ['ENOSPC'], 'reported once, not per event');
  assert.equal(s.onDisk, false);
  assert.deepEqual(s.events().map((e) => e.seq), [2, 3, 4, 5], 'still sent from memory');
  assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.tmp')), [], 'no half-written copy left behind');
  disk.full = false;
  s.append(ev('b', 6));
  assert.deepEqual(reports, ['ENOSPC', null], 'recovery reported');
  assert.equal(s.onDisk, true);
  s.close();
  const again = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'always' });
  assert.deepEqual(again.events().map((e) => e.seq), [2, 3, 4, 5, 6], 'on disk after the recovery, ack included');
  again.close();
});

test('a short write (the disk filling up mid-line) counts as a failure; the torn line is never replayed', () => {
  const d = dir();
  const disk = flakyDisk();
  const { reports, onDiskError } = diskReports();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', fs: disk.fs, retryMs: 60_000, onDiskError });
  s.append(ev('b', 1));
  disk.room = 20;
  s.append(ev('b', 2));
  assert.deepEqual(reports, ['ENOSPC']);
  assert.deepEqual(s.events().map((e) => e.seq), [1, 2]);
  // the agent dies now: what the disk holds replays, the torn line does not
  const after = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
  assert.deepEqual(after.events().map((e) => e.seq), [1]);
  after.close();
  s.close();
});

test('while the disk refuses writes, the whole state is written again at most every retryMs', () => {
  const d = dir();
  const disk = flakyDisk();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', fs: disk.fs, retryMs: 60_000 });
  disk.full = true;
  s.append(ev('b', 1));
  const afterFirst = disk.attempts;
  for (let i = 2; i <= 50; i++) s.append(ev('b', i));
  s.ack('b', 10);
  assert.equal(disk.attempts, afterFirst, 'no retry within retryMs');
  assert.equal(s.size, 40);
  s.close();
});

test('opening on a full disk: the old files are kept and replayed, and the spool keeps working in memory', () => {
  const d = dir();
  const first = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
  first.append(ev('old', 1));
  first.append(ev('old', 2));
  first.close();
  const disk = flakyDisk();
  disk.full = true;
  const { reports, onDiskError } = diskReports();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', fs: disk.fs, retryMs: 0, onDiskError });
  assert.deepEqual(reports, ['ENOSPC']);
  assert.deepEqual(s.events().map((e) => `${e.bootId}:${e.seq}`), ['old:1', 'old:2']);
  s.append(ev('new', 1));
  s.close();
  const again = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
  assert.deepEqual(again.events().map((e) => `${e.bootId}:${e.seq}`), ['old:1', 'old:2'], 'the files from before the failure are intact');
  again.close();
});

test('a quiet agent: the retry timer writes the spool again without a new event', async () => {
  const d = dir();
  const disk = flakyDisk();
  const { reports, onDiskError } = diskReports();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', fs: disk.fs, retryMs: 50, onDiskError });
  disk.full = true;
  s.append(ev('b', 1));
  s.append(ev('b', 2));
  disk.full = false;
  const deadline = Date.now() + 5_000;
  while (!s.onDisk && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(reports, ['ENOSPC', null]);
  s.close();
  const again = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
  assert.deepEqual(again.events().map((e) => e.seq), [1, 2]);
  again.close();
});

test('a spool directory that cannot be created (read-only or full file system): the spool starts in memory and creates it once it can', () => {
  const parent = dir();
  const d = join(parent, 'spool');
  const { reports, onDiskError } = diskReports();
  // the only way to make mkdir fail here without root tricks: a file where the directory should be
  writeFileSync(d, 'not a directory');
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', retryMs: 0, onDiskError });
  assert.equal(reports.length, 1, 'reported, not thrown');
  s.append(ev('b', 1));
  assert.equal(s.size, 1);
  rmSync(d);
  s.append(ev('b', 2));
  assert.deepEqual(reports.slice(1), [null], 'recovered: the directory was created');
  s.close();
  assert.deepEqual(Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' }).events().map((e) => e.seq), [1, 2]);
});

test('close() gives a disk that recovered within the retry interval one last try', () => {
  const d = dir();
  const disk = flakyDisk();
  const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never', fs: disk.fs, retryMs: 60_000 });
  s.append(ev('b', 1));
  disk.full = true;
  s.append(ev('b', 2));
  s.append(ev('b', 3));
  disk.full = false;
  s.close();
  assert.deepEqual(Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' }).events().map((e) => e.seq), [1, 2, 3]);
});

test('a reporting callback that throws does not stop the retries', async () => {
  const d = dir();
  const disk = flakyDisk();
  const s = Spool.open({
    dir: d,
    maxBytes: 1 << 20,
    fsync: 'never',
    fs: disk.fs,
    retryMs: 50,
    onDiskError: () => {
      throw new Error('logger broken');
    },
  });
  disk.full = true;
  s.append(ev('b', 1));
  disk.full = false;
  const deadline = Date.now() + 5_000;
  while (!s.onDisk && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.onDisk, true);
  s.close();
});

test('segments and acked.json are 0600 whatever the umask, also a segment left with another mode', () =>
  withUmask(0o000, () => {
    const d = dir();
    const s = Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' });
    s.append(ev('b1', 1));
    s.append(ev('b1', 2));
    s.ack('b1', 1);
    s.close();
    const files = readdirSync(d);
    assert.ok(files.includes('acked.json') && files.some((f) => f.startsWith('seg-')), files.join(' '));
    for (const f of files) assert.equal(modeOf(join(d, f)), '0600', f);
    for (const f of files) chmodSync(join(d, f), 0o666);
    Spool.open({ dir: d, maxBytes: 1 << 20, fsync: 'never' }).close();
    for (const f of readdirSync(d)) assert.equal(modeOf(join(d, f)), '0600', `${f} after a reopen`);
    rmSync(d, { recursive: true, force: true });
  }));
