import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventStore } from '../../../../coordinator/store/event-store.js';
import type { Event } from '../../../../shared/protocol/messages.js';
import { checkAgentMessage } from '../../../../shared/protocol/parse.js';
import { T0, event, events, iso } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';
import { seqs } from './samples.js';

const DAY = 24 * 3_600_000;

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

    test('listEvents: filters, since, limit; in receive order, oldest first', () =>
      withStore(open, async (store) => {
        // gpu-b's batch arrives first although gpu-a's clock dates some events earlier
        const b = [1, 2].map((s) => event(s, { agentId: 'gpu-b', at: iso(T0 + s * 1000 + 500) }));
        const a = [1, 2, 3, 4].map((s) => event(s, { service: s % 2 ? 'llama' : 'qwen', type: s === 4 ? 'restart_started' : 'state_changed' }));
        await store.appendEvents('gpu-b', b, T0 + 10);
        await store.appendEvents('gpu-a', a, T0 + 20);

        const ids = (list: Event[]) => list.map((e) => `${e.agentId}:${e.seq}`);
        assert.deepEqual(ids(await store.listEvents({})), ['gpu-b:1', 'gpu-b:2', 'gpu-a:1', 'gpu-a:2', 'gpu-a:3', 'gpu-a:4'], 'ordered by receipt, not by the agents\' clocks');
        assert.deepEqual(seqs(await store.listEvents({ host: 'gpu-b' })), ['boot1:1', 'boot1:2']);
        assert.deepEqual(seqs(await store.listEvents({ host: 'gpu-a', service: 'qwen' })), ['boot1:2', 'boot1:4']);
        assert.deepEqual(seqs(await store.listEvents({ type: 'restart_started' })), ['boot1:4']);
        assert.deepEqual(ids(await store.listEvents({ since: T0 + 2500 })), ['gpu-b:2', 'gpu-a:3', 'gpu-a:4'], 'since filters on the event time');
        assert.deepEqual(ids(await store.listEvents({ since: T0, limit: 2 })), ['gpu-b:1', 'gpu-b:2'], 'with since: first page forward');
        assert.deepEqual(ids(await store.listEvents({ limit: 2 })), ['gpu-a:3', 'gpu-a:4'], 'without since: the latest, oldest first');
        assert.deepEqual(await store.listEvents({ host: 'nobody' }), []);
      }));

    test('pageEvents: the cursor pages forward without repeats or holes, and sees later arrivals', () =>
      withStore(open, async (store) => {
        // a thousand events with one timestamp: paging by time alone could not get past them
        const same = Array.from({ length: 5 }, (_, i) => event(i + 1, { at: iso(T0) }));
        await store.appendEvents('gpu-a', same, T0 + 1);
        const first = await store.pageEvents({ since: T0, limit: 3 });
        assert.deepEqual(seqs(first.events), ['boot1:1', 'boot1:2', 'boot1:3']);
        // an old event replayed after the first page was read still comes on a later one
        await store.appendEvents('gpu-b', [event(1, { agentId: 'gpu-b', at: iso(T0 + 5) })], T0 + 2);
        const second = await store.pageEvents({ since: T0, limit: 3, after: first.next! });
        assert.deepEqual(second.events.map((e) => `${e.agentId}:${e.seq}`), ['gpu-a:4', 'gpu-a:5', 'gpu-b:1']);
        const third = await store.pageEvents({ since: T0, limit: 3, after: second.next! });
        assert.deepEqual(third, { events: [], next: null });
        assert.deepEqual(seqs((await store.pageEvents({ after: first.next!, host: 'gpu-a' })).events), ['boot1:4', 'boot1:5'], 'after alone pages forward too');
      }));

    test('event times outside [boot start - 1 day, receipt + 5 min] are clamped, the agent\'s kept in originalAt', () =>
      withStore(open, async (store) => {
        const received = T0 + 60_000;
        const started: Event = { agentId: 'gpu-a', bootId: 'boot1', seq: 1, at: iso(T0), type: 'agent_started', reason: 'agent gpu-a started' };
        const r = await store.appendEvents('gpu-a', [
          started,
          event(2, { at: '2099-01-01T00:00:00.000Z' }),
          event(3, { at: iso(T0 - 2 * DAY) }),
          event(4, { at: iso(T0 + 2000), originalAt: '2000-01-01T00:00:00.000Z' }),
          event(1, { bootId: 'unknown-boot', at: '2000-01-01T00:00:00.000Z' }),
        ], received);
        const expected = [
          started,
          event(2, { at: iso(received + 5 * 60_000), originalAt: '2099-01-01T00:00:00.000Z' }),
          event(3, { at: iso(T0 - DAY), originalAt: iso(T0 - 2 * DAY) }),
          event(4, { at: iso(T0 + 2000) }),
          event(1, { bootId: 'unknown-boot', at: '2000-01-01T00:00:00.000Z' }),
        ];
        assert.deepEqual(r.inserted, expected, 'what the fleet state sees');
        assert.deepEqual(await store.listEvents({}), expected, 'what is stored and served');
        // the boot start comes from the store once its agent_started was stored earlier
        await store.appendEvents('gpu-a', [event(5, { at: iso(T0 - 3 * DAY) })], received);
        assert.deepEqual((await store.listEvents({ limit: 1 }))[0], event(5, { at: iso(T0 - DAY), originalAt: iso(T0 - 3 * DAY) }));
        const check = checkAgentMessage(events(await store.listEvents({})));
        assert.equal(check, null, 'stored events still match the event schema');
      }));
  });
}
