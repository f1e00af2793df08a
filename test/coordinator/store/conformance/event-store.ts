import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventStore } from '../../../../coordinator/store/event-store.js';
import { T0, event, iso } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';
import { seqs } from './samples.js';

/** What every EventStore does (coordinator/store/event-store.ts). */
export function describeEventStoreConformance(name: string, open: OpenStore<EventStore>): void {
  describe(`EventStore conformance: ${name}`, () => {
    test('a batch is stored once: the same batch again inserts nothing, order is kept', () =>
      withStore(open, async (store) => {
        const batch = [event(1), event(2), event(3)];
        const first = await store.appendEvents('gpu-a', batch, T0);
        assert.deepEqual(seqs(first.inserted), ['boot1:1', 'boot1:2', 'boot1:3']);
        assert.deepEqual(first.acks, [{ bootId: 'boot1', seq: 3 }]);

        const again = await store.appendEvents('gpu-a', batch, T0 + 1);
        assert.deepEqual(again.inserted, []);
        assert.deepEqual(again.acks, [{ bootId: 'boot1', seq: 3 }]);

        const stored = await store.listEvents({ host: 'gpu-a' });
        assert.deepEqual(stored, batch, 'served exactly as received, oldest first');
      }));

    test('duplicates inside one batch and overlapping replays store each seq once', () =>
      withStore(open, async (store) => {
        const r = await store.appendEvents('gpu-a', [event(1), event(1), event(2)], T0);
        assert.deepEqual(seqs(r.inserted), ['boot1:1', 'boot1:2']);
        const r2 = await store.appendEvents('gpu-a', [event(2), event(3), event(4)], T0);
        assert.deepEqual(seqs(r2.inserted), ['boot1:3', 'boot1:4']);
        assert.equal((await store.listEvents({})).length, 4);
      }));

    test('the ack is the highest contiguous seq; a hole holds it back until filled', () =>
      withStore(open, async (store) => {
        assert.equal(await store.lastSeq('gpu-a', 'boot1'), null);
        let r = await store.appendEvents('gpu-a', [event(1), event(2), event(4), event(5)], T0);
        assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 2 }]);
        assert.equal(await store.lastSeq('gpu-a', 'boot1'), 2);
        r = await store.appendEvents('gpu-a', [event(3)], T0);
        assert.deepEqual(seqs(r.inserted), ['boot1:3']);
        assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 5 }]);

        r = await store.appendEvents('gpu-a', [event(7)], T0);
        assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 5 }]);
        // a boot whose seq 1 has not arrived has no watermark yet
        r = await store.appendEvents('gpu-a', [event(2, { bootId: 'boot2' })], T0);
        assert.deepEqual(r.acks, [{ bootId: 'boot2', seq: 0 }]);
        assert.equal(await store.lastSeq('gpu-a', 'boot2'), null);
      }));

    test('boots and agents are separate sequences', () =>
      withStore(open, async (store) => {
        const r = await store.appendEvents('gpu-a', [event(1, { bootId: 'old' }), event(2, { bootId: 'old' }), event(1, { bootId: 'new' })], T0);
        assert.equal(r.inserted.length, 3);
        assert.deepEqual(
          [...r.acks].sort((a, b) => a.bootId.localeCompare(b.bootId)),
          [
            { bootId: 'new', seq: 1 },
            { bootId: 'old', seq: 2 },
          ],
        );
        const b = await store.appendEvents('gpu-b', [event(1, { agentId: 'gpu-b', bootId: 'old' })], T0);
        assert.equal(b.inserted.length, 1, 'same boot id and seq under another agent is another event');
        assert.equal(await store.lastSeq('gpu-b', 'old'), 1);
      }));

    test('an event of another agent aborts the whole batch', () =>
      withStore(open, async (store) => {
        await assert.rejects(store.appendEvents('gpu-a', [event(1), event(2, { agentId: 'gpu-b' })], T0), /another|batch/);
        assert.deepEqual(await store.listEvents({}), []);
        assert.equal(await store.lastSeq('gpu-a', 'boot1'), null);
      }));

    test('a gap event moves the watermark past the events it declares lost', () =>
      withStore(open, async (store) => {
        await store.appendEvents('gpu-a', [event(1), event(2)], T0);
        // 3..5 were dropped from the agent's spool; the gap itself is seq 6
        const gap = event(6, { type: 'gap', data: { lost: [{ bootId: 'boot1', fromSeq: 3, toSeq: 5, count: 3 }] } });
        const r = await store.appendEvents('gpu-a', [gap], T0 + 1);
        assert.deepEqual(seqs(r.inserted), ['boot1:6']);
        assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 6 }]);
        assert.equal(await store.lastSeq('gpu-a', 'boot1'), 6);
        const late = await store.appendEvents('gpu-a', [event(4), event(7)], T0 + 2);
        assert.deepEqual(seqs(late.inserted), ['boot1:7'], 'a lost event arriving after all is at or below the watermark');
      }));

    test('prune removes only events received before the cutoff, in bounded chunks', () =>
      withStore(open, async (store) => {
        const old = Array.from({ length: 12_000 }, (_, i) => event(i + 1));
        await store.appendEvents('gpu-a', old, T0);
        await store.appendEvents('gpu-a', [event(12_001)], T0 + 1000);
        assert.equal(await store.prune(T0 + 500), 12_000);
        assert.deepEqual(seqs(await store.listEvents({})), ['boot1:12001']);
        assert.equal(await store.prune(T0 + 500), 0);
      }));

    test('exactly once survives a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.appendEvents('gpu-a', [event(1), event(2)], T0);
        store = await restart();
        const r = await store.appendEvents('gpu-a', [event(1), event(2), event(3)], T0);
        assert.deepEqual(seqs(r.inserted), ['boot1:3']);
        assert.equal(await store.lastSeq('gpu-a', 'boot1'), 3);
      }));

    test('listEvents: filters, since, limit; oldest first', () =>
      withStore(open, async (store) => {
        const a = [1, 2, 3, 4].map((s) => event(s, { service: s % 2 ? 'llama' : 'qwen', type: s === 4 ? 'restart_started' : 'state_changed' }));
        const b = [1, 2].map((s) => event(s, { agentId: 'gpu-b', at: iso(T0 + s * 1000 + 500) }));
        await store.appendEvents('gpu-a', a, T0);
        await store.appendEvents('gpu-b', b, T0);

        assert.deepEqual(
          (await store.listEvents({})).map((e) => `${e.agentId}:${e.seq}`),
          ['gpu-a:1', 'gpu-b:1', 'gpu-a:2', 'gpu-b:2', 'gpu-a:3', 'gpu-a:4'],
          'ordered by event time across agents',
        );
        assert.deepEqual(seqs(await store.listEvents({ host: 'gpu-b' })), ['boot1:1', 'boot1:2']);
        assert.deepEqual(seqs(await store.listEvents({ host: 'gpu-a', service: 'qwen' })), ['boot1:2', 'boot1:4']);
        assert.deepEqual(seqs(await store.listEvents({ type: 'restart_started' })), ['boot1:4']);
        assert.deepEqual((await store.listEvents({ since: T0 + 2500 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-b:2', 'gpu-a:3', 'gpu-a:4']);
        assert.deepEqual((await store.listEvents({ since: T0, limit: 2 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-a:1', 'gpu-b:1'], 'with since: first page forward');
        assert.deepEqual((await store.listEvents({ limit: 2 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-a:3', 'gpu-a:4'], 'without since: the latest, oldest first');
        assert.deepEqual(await store.listEvents({ host: 'nobody' }), []);
      }));
  });
}
