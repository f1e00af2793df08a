import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationLogEntry } from '../../../../coordinator/alerts/types.js';
import type { OutboxStore } from '../../../../coordinator/store/outbox-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';
import { MESSAGES, logEntry, notification } from './samples.js';

/** What every OutboxStore does (coordinator/store/outbox-store.ts). */
export function describeOutboxStoreConformance(name: string, open: OpenStore<OutboxStore>): void {
  describe(`OutboxStore conformance: ${name}`, () => {
    test('enqueue writes the outbox row and the notification log entry together', () =>
      withStore(open, async (store) => {
        const n = notification('n1');
        const row = await store.enqueueNotification(n, MESSAGES, logEntry(n));
        assert.equal(row.id, 'n1');
        assert.equal(row.state, 'pending');
        assert.equal(row.nextMessage, 0);
        assert.equal(row.messageCount, 3);
        assert.equal(row.attempts, 0);
        assert.equal(row.nextAttemptAt, T0, 'due at once');
        assert.deepEqual(row.messages, MESSAGES);
        assert.deepEqual(row.notification, n);
        assert.deepEqual(await store.getNotificationLog('ops-slack', n.groupKey), logEntry(n));
        assert.deepEqual(await store.listNotificationLog(), [logEntry(n)]);
        assert.equal(await store.getNotificationLog('other', n.groupKey), undefined);

        // the same notification again: no second row, the first is returned
        const again = await store.enqueueNotification(n, [{ text: 'other' }], logEntry(n, T0 + 5));
        assert.deepEqual(again.messages, MESSAGES);
        assert.equal((await store.listOutbox({})).length, 1);
      }));

    test('enqueue is one transaction: a failure after the outbox insert leaves nothing behind', () =>
      withStore(open, async (store) => {
        const n = notification('n1');
        // BigInt cannot be serialised: the log write fails after the outbox row was inserted
        const bad = { ...logEntry(n), firing: [1n] } as unknown as NotificationLogEntry;
        await assert.rejects(store.enqueueNotification(n, MESSAGES, bad), TypeError);
        assert.deepEqual(await store.listOutbox({}), []);
        assert.equal(await store.getNotificationLog(n.receiver, n.groupKey), undefined);

        await assert.rejects(store.enqueueNotification(n, MESSAGES, { ...logEntry(n), receiver: 'someone-else' }), /does not belong/);
        assert.deepEqual(await store.listOutbox({}), []);
      }));

    test('a notification that could not be built is stored as failed, with its log entry', () =>
      withStore(open, async (store) => {
        const n = notification('n1');
        const row = await store.enqueueNotification(n, [], logEntry(n), { failed: 'building failed' });
        assert.equal(row.state, 'failed');
        assert.equal(row.lastError, 'building failed');
        assert.deepEqual(await store.pendingDeliveries('ops-slack', T0 + 1e9, 10), []);
        assert.ok(await store.getNotificationLog(n.receiver, n.groupKey));
        assert.deepEqual(
          (await store.listDeliveries({})).map((d) => [d.notificationId, d.outcome, d.error]),
          [['n1', 'failed', 'building failed']],
        );
      }));

    test('progress: messages advance one by one, never backwards, and each is logged once', () =>
      withStore(open, async (store) => {
        const n = notification('n1');
        await store.enqueueNotification(n, MESSAGES, logEntry(n));
        await store.scheduleRetry('n1', T0 + 1000, 'HTTP 503', { index: 0, at: T0, status: 503 });
        let row = (await store.getOutboxEntry('n1'))!;
        assert.equal(row.attempts, 1);
        assert.equal(row.nextAttemptAt, T0 + 1000);
        assert.equal(row.lastError, 'HTTP 503');

        await store.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1000, status: 200 });
        row = (await store.getOutboxEntry('n1'))!;
        assert.equal(row.nextMessage, 1);
        assert.equal(row.attempts, 0, 'retry count is per message');
        assert.equal(row.lastError, null);

        // a repeated or stale call changes nothing
        await store.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1001 });
        await store.markMessageDelivered('n1', 2, { index: 2, at: T0 + 1001 });
        assert.equal((await store.getOutboxEntry('n1'))!.nextMessage, 1);

        // not all messages out yet: markDelivered refuses
        await store.markDelivered('n1', T0 + 1002);
        assert.equal((await store.getOutboxEntry('n1'))!.state, 'pending');

        await store.markMessageDelivered('n1', 1, { index: 1, at: T0 + 2000, status: 200 });
        await store.markMessageDelivered('n1', 2, { index: 2, at: T0 + 3000, status: 204 });
        await store.markDelivered('n1', T0 + 3000);
        row = (await store.getOutboxEntry('n1'))!;
        assert.equal(row.state, 'delivered');
        assert.equal(row.nextMessage, 3);
        // finished rows take no more changes
        await store.scheduleRetry('n1', T0 + 9000, 'late', { index: 2, at: T0 + 4000 });
        await store.markFailed('n1', 'late', { index: 2, at: T0 + 4000 });
        assert.equal((await store.getOutboxEntry('n1'))!.state, 'delivered');

        const log = await store.listDeliveries({ receiver: 'ops-slack' });
        assert.deepEqual(
          log.map((d) => [d.messageIndex, d.outcome, d.status, d.error, d.at]),
          [
            [0, 'retry', 503, 'HTTP 503', T0],
            [0, 'delivered', 200, null, T0 + 1000],
            [1, 'delivered', 200, null, T0 + 2000],
            [2, 'delivered', 204, null, T0 + 3000],
          ],
        );
        assert.ok(log.every((d) => d.notificationId === 'n1' && d.receiver === 'ops-slack'));
        assert.deepEqual((await store.listDeliveries({ limit: 2 })).map((d) => d.messageIndex), [1, 2], 'latest N, oldest first');
        assert.deepEqual(await store.listDeliveries({ receiver: 'nobody' }), []);
        assert.equal((await store.listDeliveries({ notificationId: 'n1' })).length, 4);
      }));

    test('pending deliveries keep each receiver in order: a row waiting for its retry holds back those behind it', () =>
      withStore(open, async (store) => {
        for (const id of ['a1', 'a2', 'a3']) await store.enqueueNotification(notification(id), MESSAGES, logEntry(notification(id)));
        await store.enqueueNotification(notification('b1', { receiver: 'discord' }), MESSAGES, logEntry(notification('b1', { receiver: 'discord' })));
        const ids = async (receiver: string, now: number, limit = 10) => (await store.pendingDeliveries(receiver, now, limit)).map((r) => r.id);

        assert.deepEqual(await ids('ops-slack', T0), ['a1', 'a2', 'a3']);
        assert.deepEqual(await ids('ops-slack', T0, 2), ['a1', 'a2']);
        assert.deepEqual(await ids('discord', T0), ['b1']);
        assert.equal(await store.nextPendingAt('ops-slack'), T0);

        await store.scheduleRetry('a2', T0 + 5000, 'refused', { index: 0, at: T0 });
        assert.deepEqual(await ids('ops-slack', T0 + 10), ['a1'], 'a3 waits behind a2');
        await store.markFailed('a1', 'gone', { index: 0, at: T0 + 10 });
        assert.deepEqual(await ids('ops-slack', T0 + 10), []);
        assert.equal(await store.nextPendingAt('ops-slack'), T0 + 5000);
        assert.deepEqual(await ids('ops-slack', T0 + 5000), ['a2', 'a3']);
        assert.deepEqual(await ids('discord', T0 + 10), ['b1'], 'other receivers are independent');
        assert.deepEqual(await store.pendingCounts(), [
          { receiver: 'discord', pending: 1 },
          { receiver: 'ops-slack', pending: 2 },
        ]);
        assert.equal(await store.nextPendingAt('nobody'), null);

        const outbox = await store.listOutbox({ receiver: 'ops-slack' });
        assert.deepEqual(outbox.map((r) => [r.id, r.state]), [
          ['a3', 'pending'],
          ['a2', 'pending'],
          ['a1', 'failed'],
        ]);
        assert.ok(!('messages' in outbox[0]!), 'summaries carry no messages');
        assert.deepEqual((await store.listOutbox({ state: 'failed' })).map((r) => r.id), ['a1']);
      }));

    test('progress and the notification log survive a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        const n = notification('n1');
        await store.enqueueNotification(n, MESSAGES, logEntry(n));
        await store.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1 });
        await store.scheduleRetry('n1', T0 + 30_000, 'HTTP 429', { index: 1, at: T0 + 2, status: 429 });

        store = await restart();
        const row = (await store.getOutboxEntry('n1'))!;
        assert.equal(row.nextMessage, 1);
        assert.equal(row.attempts, 1);
        assert.equal(row.nextAttemptAt, T0 + 30_000);
        assert.deepEqual(await store.pendingDeliveries('ops-slack', T0 + 29_999, 10), []);
        assert.deepEqual((await store.pendingDeliveries('ops-slack', T0 + 30_000, 10)).map((r) => r.id), ['n1']);
        assert.deepEqual(await store.getNotificationLog(n.receiver, n.groupKey), logEntry(n));
        assert.equal((await store.listDeliveries({})).length, 2);
      }));

    test('prune removes finished rows, delivery log lines and old log entries; never pending rows', () =>
      withStore(open, async (store) => {
        const done = notification('done');
        const failed = notification('failed', { groupKey: 'g2' });
        const waiting = notification('waiting', { groupKey: 'g3' });
        await store.enqueueNotification(done, [{}], logEntry(done, T0));
        await store.enqueueNotification(failed, [{}], logEntry(failed, T0));
        await store.enqueueNotification(waiting, [{}], logEntry(waiting, T0));
        await store.markMessageDelivered('done', 0, { index: 0, at: T0 });
        await store.markDelivered('done', T0);
        await store.markFailed('failed', 'gone', { index: 0, at: T0 });
        await store.scheduleRetry('waiting', T0 + 10, 'refused', { index: 0, at: T0 });
        const recent = notification('recent', { groupKey: 'g4' });
        await store.enqueueNotification(recent, [{}], logEntry(recent, T0 + 2));
        await store.markFailed('recent', 'gone', { index: 0, at: T0 + 2 });

        await store.prune(T0 + 1);
        assert.deepEqual((await store.listOutbox({})).map((r) => r.id), ['recent', 'waiting'], 'finished after the cutoff: kept');
        assert.deepEqual((await store.listDeliveries({})).map((d) => d.notificationId), ['recent']);
        assert.deepEqual((await store.listNotificationLog()).map((e) => e.groupKey), ['g4']);
        assert.deepEqual((await store.pendingDeliveries('ops-slack', T0 + 10, 10)).map((r) => r.id), ['waiting']);
      }));
  });
}
