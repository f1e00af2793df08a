import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Spool, type LostRange } from '../../agent/link/spool.js';
import type { Event } from '../../shared/protocol/messages.js';

const ev = (bootId: string, seq: number, reason = 'x'): Event => ({ agentId: 'a', bootId, seq, at: new Date(0).toISOString(), type: 'state_changed', service: 's', from: 'healthy', to: 'down', reason });
const dir = () => mkdtempSync(join(tmpdir(), 'llmh-spool-'));

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
