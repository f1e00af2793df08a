import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../../../coordinator/store/types.js';
import { T0, event } from '../../protocol-samples.js';
import { withStore, type OpenStore } from './harness.js';
import { logEntry, notification, seqs, silence } from './samples.js';

/**
 * What a whole Store does beyond its parts (coordinator/store/types.ts): the semantics
 * that cross concerns, and retention over all of them. A backend runs this suite and the
 * one of each concern.
 */
export function describeStoreConformance(name: string, open: OpenStore<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    test('exactly once survives retention: a replay of pruned events is not stored again', () =>
      withStore(open, async (store) => {
        await store.fleet.recordHello({ id: 'gpu-a', bootId: 'boot1', labels: {}, agentVersion: '1' }, T0);
        await store.events.appendEvents('gpu-a', [event(1), event(2)], T0);
        assert.equal(await store.prune(T0 + 1), 2);
        assert.deepEqual(await store.events.listEvents({}), []);
        const r = await store.events.appendEvents('gpu-a', [event(1), event(2), event(3)], T0 + 10);
        assert.deepEqual(seqs(r.inserted), ['boot1:3']);
        assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 3 }]);
      }));

    test("prune drops watermarks of old boots silent past the cutoff, never the current boot's", () =>
      withStore(open, async (store) => {
        await store.events.appendEvents('gpu-a', [event(1, { bootId: 'old' })], T0);
        await store.fleet.recordHello({ id: 'gpu-a', bootId: 'cur', labels: {}, agentVersion: '1' }, T0);
        await store.events.appendEvents('gpu-a', [event(1, { bootId: 'cur' })], T0);
        await store.prune(T0 + 1);
        assert.equal(await store.events.lastSeq('gpu-a', 'old'), null);
        assert.equal(await store.events.lastSeq('gpu-a', 'cur'), 1);
      }));

    test('appending events counts as hearing from the agent', () =>
      withStore(open, async (store) => {
        await store.fleet.recordHello({ id: 'gpu-b', bootId: 'b1', labels: { rack: 'r2' }, agentVersion: '1.0' }, T0);
        await store.fleet.recordHello({ id: 'gpu-a', bootId: 'a1', labels: {}, agentVersion: '1.0' }, T0);
        await store.fleet.recordHello({ id: 'gpu-b', bootId: 'b2', labels: { rack: 'r3' }, agentVersion: '1.1' }, T0 + 5);
        await store.fleet.setConnected('gpu-a', false, T0 + 7);
        await store.events.appendEvents('gpu-b', [event(1, { agentId: 'gpu-b' })], T0 + 9);
        await store.fleet.markAllDisconnected();
        const agents = await store.fleet.listAgents();
        assert.deepEqual(
          agents.map((a) => [a.id, a.connected, a.lastSeen]),
          [
            ['gpu-a', false, T0 + 7],
            ['gpu-b', false, T0 + 9],
          ],
        );
      }));

    test('retention prunes finished outbox rows, delivery log lines, old log entries and ended silences; never pending rows', () =>
      withStore(open, async (store) => {
        await store.events.appendEvents('gpu-a', [event(1)], T0);
        const done = notification('done');
        const failed = notification('failed', { groupKey: 'g2' });
        const waiting = notification('waiting', { groupKey: 'g3' });
        await store.outbox.enqueueNotification(done, [{}], logEntry(done, T0));
        await store.outbox.enqueueNotification(failed, [{}], logEntry(failed, T0));
        await store.outbox.enqueueNotification(waiting, [{}], logEntry(waiting, T0));
        await store.outbox.markMessageDelivered('done', 0, { index: 0, at: T0 });
        await store.outbox.markDelivered('done', T0);
        await store.outbox.markFailed('failed', 'gone', { index: 0, at: T0 });
        await store.outbox.scheduleRetry('waiting', T0 + 10, 'refused', { index: 0, at: T0 });
        await store.silences.createSilence(silence('ended', T0 - 10, T0));
        await store.silences.createSilence(silence('running', T0 - 10, T0 + 10_000));

        assert.equal(await store.prune(T0 + 1), 1, 'returns the number of events removed');
        assert.deepEqual((await store.outbox.listOutbox({})).map((r) => r.id), ['waiting']);
        assert.deepEqual(await store.outbox.listDeliveries({}), []);
        assert.deepEqual(await store.outbox.listNotificationLog(), []);
        assert.deepEqual((await store.silences.listSilences({ now: T0, includeExpired: true })).map((s) => s.id), ['running']);
        assert.deepEqual((await store.outbox.pendingDeliveries('ops-slack', T0 + 10, 10)).map((r) => r.id), ['waiting']);
      }));

    test('retention deletes ended maintenance windows but leaves the audit log to its own retention', () =>
      withStore(open, async (store) => {
        await store.maintenance.putMaintenance({ host: 'old', since: T0 - 10, until: T0, comment: '', by: 'ops' });
        await store.maintenance.putMaintenance({ host: 'cur', since: T0 - 10, until: T0 + 10_000, comment: '', by: 'ops' });
        await store.audit.appendAudit({ at: T0 - 10, actor: 'ops', remote: null, action: 'maintenance.on', target: 'old', detail: {}, outcome: 'ok', status: null });
        await store.prune(T0 + 1);
        assert.deepEqual((await store.maintenance.listMaintenance()).map((m) => m.host), ['cur']);
        assert.equal((await store.audit.listAudit({ limit: 10 })).length, 1);
      }));

    test('close is idempotent', async () => {
      const opened = await open();
      await opened.store.close();
      await opened.store.close();
      await opened.close();
    });
  });
}
