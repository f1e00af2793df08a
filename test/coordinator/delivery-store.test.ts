import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notification, NotificationLogEntry, Silence } from '../../coordinator/alerts/types.js';
import { SqliteStore } from '../../coordinator/store/sqlite-store.js';
import { T0, event } from './protocol-samples.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-delivery-store-'));
  dirs.push(dir);
  return join(dir, 'llm-health.db');
}

async function withStore(fn: (store: SqliteStore, file: string) => Promise<void>): Promise<void> {
  const file = tempDb();
  const store = SqliteStore.open(file);
  try {
    await fn(store, file);
  } finally {
    await store.close();
  }
}

function notification(id: string, over: Partial<Notification> = {}): Notification {
  return {
    id,
    receiver: 'ops-slack',
    groupKey: '{}:{alertname="LLMServiceDown"}',
    groupLabels: { alertname: 'LLMServiceDown' },
    commonLabels: { alertname: 'LLMServiceDown', severity: 'critical' },
    status: 'firing',
    firingCount: 1,
    resolvedCount: 0,
    alerts: [],
    truncatedAlerts: 0,
    externalUrl: 'http://127.0.0.1:7700/',
    createdAt: new Date(T0).toISOString(),
    ...over,
  };
}

function logEntry(n: Notification, sentAt = T0, firing = ['fp1']): NotificationLogEntry {
  return { receiver: n.receiver, groupKey: n.groupKey, firing, resolved: [], sentAt };
}

const MESSAGES = [{ text: 'part 1' }, { text: 'part 2' }, { text: 'part 3' }];

test('enqueue writes the outbox row and the notification log entry together', () =>
  withStore(async (store) => {
    const n = notification('n1');
    const row = await store.outbox.enqueueNotification(n, MESSAGES, logEntry(n));
    assert.equal(row.id, 'n1');
    assert.equal(row.state, 'pending');
    assert.equal(row.nextMessage, 0);
    assert.equal(row.messageCount, 3);
    assert.equal(row.attempts, 0);
    assert.equal(row.nextAttemptAt, T0, 'due at once');
    assert.deepEqual(row.messages, MESSAGES);
    assert.deepEqual(row.notification, n);
    assert.deepEqual(await store.outbox.getNotificationLog('ops-slack', n.groupKey), logEntry(n));
    assert.deepEqual(await store.outbox.listNotificationLog(), [logEntry(n)]);
    assert.equal(await store.outbox.getNotificationLog('other', n.groupKey), undefined);

    // the same notification again: no second row, the first is returned
    const again = await store.outbox.enqueueNotification(n, [{ text: 'other' }], logEntry(n, T0 + 5));
    assert.deepEqual(again.messages, MESSAGES);
    assert.equal((await store.outbox.listOutbox({})).length, 1);
  }));

test('enqueue is one transaction: a failure after the outbox insert leaves nothing behind', () =>
  withStore(async (store) => {
    const n = notification('n1');
    // BigInt cannot be serialised: the log write fails after the outbox row was inserted
    const bad = { ...logEntry(n), firing: [1n] } as unknown as NotificationLogEntry;
    await assert.rejects(store.outbox.enqueueNotification(n, MESSAGES, bad), TypeError);
    assert.deepEqual(await store.outbox.listOutbox({}), []);
    assert.equal(await store.outbox.getNotificationLog(n.receiver, n.groupKey), undefined);

    await assert.rejects(store.outbox.enqueueNotification(n, MESSAGES, { ...logEntry(n), receiver: 'someone-else' }), /does not belong/);
    assert.deepEqual(await store.outbox.listOutbox({}), []);
  }));

test('a notification that could not be built is stored as failed, with its log entry', () =>
  withStore(async (store) => {
    const n = notification('n1');
    const row = await store.outbox.enqueueNotification(n, [], logEntry(n), { failed: 'building failed' });
    assert.equal(row.state, 'failed');
    assert.equal(row.lastError, 'building failed');
    assert.deepEqual(await store.outbox.pendingDeliveries('ops-slack', T0 + 1e9, 10), []);
    assert.ok(await store.outbox.getNotificationLog(n.receiver, n.groupKey));
    assert.deepEqual(
      (await store.outbox.listDeliveries({})).map((d) => [d.notificationId, d.outcome, d.error]),
      [['n1', 'failed', 'building failed']],
    );
  }));

test('progress: messages advance one by one, never backwards, and each is logged once', () =>
  withStore(async (store) => {
    const n = notification('n1');
    await store.outbox.enqueueNotification(n, MESSAGES, logEntry(n));
    await store.outbox.scheduleRetry('n1', T0 + 1000, 'HTTP 503', { index: 0, at: T0, status: 503 });
    let row = (await store.outbox.getOutboxEntry('n1'))!;
    assert.equal(row.attempts, 1);
    assert.equal(row.nextAttemptAt, T0 + 1000);
    assert.equal(row.lastError, 'HTTP 503');

    await store.outbox.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1000, status: 200 });
    row = (await store.outbox.getOutboxEntry('n1'))!;
    assert.equal(row.nextMessage, 1);
    assert.equal(row.attempts, 0, 'retry count is per message');
    assert.equal(row.lastError, null);

    // a repeated or stale call changes nothing
    await store.outbox.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1001 });
    await store.outbox.markMessageDelivered('n1', 2, { index: 2, at: T0 + 1001 });
    assert.equal((await store.outbox.getOutboxEntry('n1'))!.nextMessage, 1);

    // not all messages out yet: markDelivered refuses
    await store.outbox.markDelivered('n1', T0 + 1002);
    assert.equal((await store.outbox.getOutboxEntry('n1'))!.state, 'pending');

    await store.outbox.markMessageDelivered('n1', 1, { index: 1, at: T0 + 2000, status: 200 });
    await store.outbox.markMessageDelivered('n1', 2, { index: 2, at: T0 + 3000, status: 204 });
    await store.outbox.markDelivered('n1', T0 + 3000);
    row = (await store.outbox.getOutboxEntry('n1'))!;
    assert.equal(row.state, 'delivered');
    assert.equal(row.nextMessage, 3);
    // finished rows take no more changes
    await store.outbox.scheduleRetry('n1', T0 + 9000, 'late', { index: 2, at: T0 + 4000 });
    await store.outbox.markFailed('n1', 'late', { index: 2, at: T0 + 4000 });
    assert.equal((await store.outbox.getOutboxEntry('n1'))!.state, 'delivered');

    const log = await store.outbox.listDeliveries({ receiver: 'ops-slack' });
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
    assert.deepEqual((await store.outbox.listDeliveries({ limit: 2 })).map((d) => d.messageIndex), [1, 2], 'latest N, oldest first');
    assert.deepEqual(await store.outbox.listDeliveries({ receiver: 'nobody' }), []);
    assert.equal((await store.outbox.listDeliveries({ notificationId: 'n1' })).length, 4);
  }));

test('pending deliveries keep each receiver in order: a row waiting for its retry holds back those behind it', () =>
  withStore(async (store) => {
    for (const id of ['a1', 'a2', 'a3']) await store.outbox.enqueueNotification(notification(id), MESSAGES, logEntry(notification(id)));
    await store.outbox.enqueueNotification(notification('b1', { receiver: 'discord' }), MESSAGES, logEntry(notification('b1', { receiver: 'discord' })));
    const ids = async (receiver: string, now: number, limit = 10) => (await store.outbox.pendingDeliveries(receiver, now, limit)).map((r) => r.id);

    assert.deepEqual(await ids('ops-slack', T0), ['a1', 'a2', 'a3']);
    assert.deepEqual(await ids('ops-slack', T0, 2), ['a1', 'a2']);
    assert.deepEqual(await ids('discord', T0), ['b1']);
    assert.equal(await store.outbox.nextPendingAt('ops-slack'), T0);

    await store.outbox.scheduleRetry('a2', T0 + 5000, 'refused', { index: 0, at: T0 });
    assert.deepEqual(await ids('ops-slack', T0 + 10), ['a1'], 'a3 waits behind a2');
    await store.outbox.markFailed('a1', 'gone', { index: 0, at: T0 + 10 });
    assert.deepEqual(await ids('ops-slack', T0 + 10), []);
    assert.equal(await store.outbox.nextPendingAt('ops-slack'), T0 + 5000);
    assert.deepEqual(await ids('ops-slack', T0 + 5000), ['a2', 'a3']);
    assert.deepEqual(await ids('discord', T0 + 10), ['b1'], 'other receivers are independent');
    assert.deepEqual(await store.outbox.pendingCounts(), [
      { receiver: 'discord', pending: 1 },
      { receiver: 'ops-slack', pending: 2 },
    ]);
    assert.equal(await store.outbox.nextPendingAt('nobody'), null);

    const outbox = await store.outbox.listOutbox({ receiver: 'ops-slack' });
    assert.deepEqual(outbox.map((r) => [r.id, r.state]), [
      ['a3', 'pending'],
      ['a2', 'pending'],
      ['a1', 'failed'],
    ]);
    assert.ok(!('messages' in outbox[0]!), 'summaries carry no messages');
    assert.deepEqual((await store.outbox.listOutbox({ state: 'failed' })).map((r) => r.id), ['a1']);
  }));

test('progress and the notification log survive reopening the same database file', async () => {
  const file = tempDb();
  let store = SqliteStore.open(file);
  const n = notification('n1');
  await store.outbox.enqueueNotification(n, MESSAGES, logEntry(n));
  await store.outbox.markMessageDelivered('n1', 0, { index: 0, at: T0 + 1 });
  await store.outbox.scheduleRetry('n1', T0 + 30_000, 'HTTP 429', { index: 1, at: T0 + 2, status: 429 });
  await store.close();

  store = SqliteStore.open(file);
  try {
    const row = (await store.outbox.getOutboxEntry('n1'))!;
    assert.equal(row.nextMessage, 1);
    assert.equal(row.attempts, 1);
    assert.equal(row.nextAttemptAt, T0 + 30_000);
    assert.deepEqual(await store.outbox.pendingDeliveries('ops-slack', T0 + 29_999, 10), []);
    assert.deepEqual((await store.outbox.pendingDeliveries('ops-slack', T0 + 30_000, 10)).map((r) => r.id), ['n1']);
    assert.deepEqual(await store.outbox.getNotificationLog(n.receiver, n.groupKey), logEntry(n));
    assert.equal((await store.outbox.listDeliveries({})).length, 2);
  } finally {
    await store.close();
  }
});

function silence(id: string, startsAt: number, endsAt: number): Silence {
  return {
    id,
    matchers: [
      { name: 'service', value: 'qwen-vl', isRegex: false, isEqual: true },
      { name: 'host', value: 'gpu-.*', isRegex: true, isEqual: true },
    ],
    startsAt,
    endsAt,
    createdBy: 'alice',
    comment: 'driver upgrade',
    createdAt: T0,
    updatedAt: T0,
  };
}

test('silences: create, get, list active and pending, expire (idempotent)', () =>
  withStore(async (store) => {
    await store.silences.createSilence(silence('active', T0, T0 + 3_600_000));
    await store.silences.createSilence(silence('pending', T0 + 600_000, T0 + 7_200_000));
    await store.silences.createSilence(silence('over', T0 - 7_200_000, T0 - 1));
    await assert.rejects(store.silences.createSilence(silence('active', T0, T0 + 1)), /UNIQUE/);

    assert.deepEqual(await store.silences.getSilence('active'), silence('active', T0, T0 + 3_600_000));
    assert.equal(await store.silences.getSilence('nope'), undefined);
    assert.deepEqual((await store.silences.listSilences({ now: T0 })).map((s) => s.id), ['active', 'pending']);
    assert.deepEqual((await store.silences.listSilences({ now: T0, includeExpired: true })).map((s) => s.id), ['over', 'active', 'pending']);

    const expired = (await store.silences.expireSilence('active', T0 + 60_000))!;
    assert.equal(expired.endsAt, T0 + 60_000);
    assert.equal(expired.startsAt, T0);
    assert.equal(expired.updatedAt, T0 + 60_000);
    const again = (await store.silences.expireSilence('active', T0 + 120_000))!;
    assert.equal(again.endsAt, T0 + 60_000, 'expiring twice changes nothing');

    const pending = (await store.silences.expireSilence('pending', T0 + 60_000))!;
    assert.equal(pending.startsAt, T0 + 60_000, 'a pending silence that is expired never starts');
    assert.equal(pending.endsAt, T0 + 60_000);
    assert.equal(await store.silences.expireSilence('nope', T0), undefined);
    assert.deepEqual((await store.silences.listSilences({ now: T0 + 60_000 })).map((s) => s.id), []);
  }));

test('retention prunes finished outbox rows, delivery log lines, old log entries and ended silences; never pending rows', () =>
  withStore(async (store) => {
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
