import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../coordinator/store/sqlite-store.js';
import type { Event } from '../../shared/protocol/messages.js';
import { T0, event, iso } from './protocol-samples.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-store-'));
  dirs.push(dir);
  return join(dir, 'sub', 'llm-health.db');
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

const seqs = (list: Event[]) => list.map((e) => `${e.bootId}:${e.seq}`);

test('a batch is stored once: the same batch again inserts nothing, order is kept', () =>
  withStore(async (store, file) => {
    const batch = [event(1), event(2), event(3)];
    const first = await store.events.appendEvents('gpu-a', batch, T0);
    assert.deepEqual(seqs(first.inserted), ['boot1:1', 'boot1:2', 'boot1:3']);
    assert.deepEqual(first.acks, [{ bootId: 'boot1', seq: 3 }]);

    const again = await store.events.appendEvents('gpu-a', batch, T0 + 1);
    assert.deepEqual(again.inserted, []);
    assert.deepEqual(again.acks, [{ bootId: 'boot1', seq: 3 }]);

    const stored = await store.events.listEvents({ host: 'gpu-a' });
    assert.deepEqual(stored, batch, 'served exactly as received, oldest first');
    assert.ok(existsSync(`${file}-wal`), 'WAL mode');
  }));

test('duplicates inside one batch and overlapping replays store each seq once', () =>
  withStore(async (store) => {
    const r = await store.events.appendEvents('gpu-a', [event(1), event(1), event(2)], T0);
    assert.deepEqual(seqs(r.inserted), ['boot1:1', 'boot1:2']);
    const r2 = await store.events.appendEvents('gpu-a', [event(2), event(3), event(4)], T0);
    assert.deepEqual(seqs(r2.inserted), ['boot1:3', 'boot1:4']);
    assert.equal((await store.events.listEvents({})).length, 4);
  }));

test('the ack is the highest contiguous seq; a hole holds it back until filled', () =>
  withStore(async (store) => {
    assert.equal(await store.events.lastSeq('gpu-a', 'boot1'), null);
    let r = await store.events.appendEvents('gpu-a', [event(1), event(2), event(4), event(5)], T0);
    assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 2 }]);
    assert.equal(await store.events.lastSeq('gpu-a', 'boot1'), 2);
    r = await store.events.appendEvents('gpu-a', [event(3)], T0);
    assert.deepEqual(seqs(r.inserted), ['boot1:3']);
    assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 5 }]);

    r = await store.events.appendEvents('gpu-a', [event(7)], T0);
    assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 5 }]);
    // a boot whose seq 1 has not arrived has no watermark yet
    r = await store.events.appendEvents('gpu-a', [event(2, { bootId: 'boot2' })], T0);
    assert.deepEqual(r.acks, [{ bootId: 'boot2', seq: 0 }]);
    assert.equal(await store.events.lastSeq('gpu-a', 'boot2'), null);
  }));

test('boots and agents are separate sequences', () =>
  withStore(async (store) => {
    const r = await store.events.appendEvents('gpu-a', [event(1, { bootId: 'old' }), event(2, { bootId: 'old' }), event(1, { bootId: 'new' })], T0);
    assert.equal(r.inserted.length, 3);
    assert.deepEqual(
      [...r.acks].sort((a, b) => a.bootId.localeCompare(b.bootId)),
      [
        { bootId: 'new', seq: 1 },
        { bootId: 'old', seq: 2 },
      ],
    );
    const b = await store.events.appendEvents('gpu-b', [event(1, { agentId: 'gpu-b', bootId: 'old' })], T0);
    assert.equal(b.inserted.length, 1, 'same boot id and seq under another agent is another event');
    assert.equal(await store.events.lastSeq('gpu-b', 'old'), 1);
  }));

test('an event of another agent aborts the whole batch', () =>
  withStore(async (store) => {
    await assert.rejects(store.events.appendEvents('gpu-a', [event(1), event(2, { agentId: 'gpu-b' })], T0), /another|batch/);
    assert.deepEqual(await store.events.listEvents({}), []);
    assert.equal(await store.events.lastSeq('gpu-a', 'boot1'), null);
  }));

test('exactly once survives retention: a replay of pruned events is not stored again', () =>
  withStore(async (store) => {
    await store.fleet.recordHello({ id: 'gpu-a', bootId: 'boot1', labels: {}, agentVersion: '1' }, T0);
    await store.events.appendEvents('gpu-a', [event(1), event(2)], T0);
    assert.equal(await store.prune(T0 + 1), 2);
    assert.deepEqual(await store.events.listEvents({}), []);
    const r = await store.events.appendEvents('gpu-a', [event(1), event(2), event(3)], T0 + 10);
    assert.deepEqual(seqs(r.inserted), ['boot1:3']);
    assert.deepEqual(r.acks, [{ bootId: 'boot1', seq: 3 }]);
  }));

test('prune drops watermarks of old boots silent past the cutoff, never the current boot\'s', () =>
  withStore(async (store) => {
    await store.events.appendEvents('gpu-a', [event(1, { bootId: 'old' })], T0);
    await store.fleet.recordHello({ id: 'gpu-a', bootId: 'cur', labels: {}, agentVersion: '1' }, T0);
    await store.events.appendEvents('gpu-a', [event(1, { bootId: 'cur' })], T0);
    await store.prune(T0 + 1);
    assert.equal(await store.events.lastSeq('gpu-a', 'old'), null);
    assert.equal(await store.events.lastSeq('gpu-a', 'cur'), 1);
  }));

test('prune removes only events received before the cutoff, in bounded chunks', () =>
  withStore(async (store) => {
    const old = Array.from({ length: 12_000 }, (_, i) => event(i + 1));
    await store.events.appendEvents('gpu-a', old, T0);
    await store.events.appendEvents('gpu-a', [event(12_001)], T0 + 1000);
    assert.equal(await store.prune(T0 + 500), 12_000);
    assert.deepEqual(seqs(await store.events.listEvents({})), ['boot1:12001']);
    assert.equal(await store.prune(T0 + 500), 0);
  }));

test('exactly once survives a restart of the store (same file)', async () => {
  const file = tempDb();
  let store = SqliteStore.open(file);
  await store.events.appendEvents('gpu-a', [event(1), event(2)], T0);
  await store.close();
  await store.close(); // idempotent
  store = SqliteStore.open(file);
  try {
    const r = await store.events.appendEvents('gpu-a', [event(1), event(2), event(3)], T0);
    assert.deepEqual(seqs(r.inserted), ['boot1:3']);
    assert.equal(await store.events.lastSeq('gpu-a', 'boot1'), 3);
  } finally {
    await store.close();
  }
});

test('listEvents: filters, since, limit; oldest first', () =>
  withStore(async (store) => {
    const a = [1, 2, 3, 4].map((s) => event(s, { service: s % 2 ? 'llama' : 'qwen', type: s === 4 ? 'restart_started' : 'state_changed' }));
    const b = [1, 2].map((s) => event(s, { agentId: 'gpu-b', at: iso(T0 + s * 1000 + 500) }));
    await store.events.appendEvents('gpu-a', a, T0);
    await store.events.appendEvents('gpu-b', b, T0);

    assert.deepEqual(
      (await store.events.listEvents({})).map((e) => `${e.agentId}:${e.seq}`),
      ['gpu-a:1', 'gpu-b:1', 'gpu-a:2', 'gpu-b:2', 'gpu-a:3', 'gpu-a:4'],
      'ordered by event time across agents',
    );
    assert.deepEqual(seqs(await store.events.listEvents({ host: 'gpu-b' })), ['boot1:1', 'boot1:2']);
    assert.deepEqual(seqs(await store.events.listEvents({ host: 'gpu-a', service: 'qwen' })), ['boot1:2', 'boot1:4']);
    assert.deepEqual(seqs(await store.events.listEvents({ type: 'restart_started' })), ['boot1:4']);
    assert.deepEqual((await store.events.listEvents({ since: T0 + 2500 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-b:2', 'gpu-a:3', 'gpu-a:4']);
    assert.deepEqual((await store.events.listEvents({ since: T0, limit: 2 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-a:1', 'gpu-b:1'], 'with since: first page forward');
    assert.deepEqual((await store.events.listEvents({ limit: 2 })).map((e) => `${e.agentId}:${e.seq}`), ['gpu-a:3', 'gpu-a:4'], 'without since: the latest, oldest first');
    assert.deepEqual(await store.events.listEvents({ host: 'nobody' }), []);
  }));

test('agents: hello, connection flags, listing', () =>
  withStore(async (store) => {
    await store.fleet.recordHello({ id: 'gpu-b', bootId: 'b1', labels: { rack: 'r2' }, agentVersion: '1.0' }, T0);
    await store.fleet.recordHello({ id: 'gpu-a', bootId: 'a1', labels: {}, agentVersion: '1.0' }, T0);
    await store.fleet.recordHello({ id: 'gpu-b', bootId: 'b2', labels: { rack: 'r3' }, agentVersion: '1.1' }, T0 + 5);
    await store.fleet.setConnected('gpu-a', false, T0 + 7);
    let agents = await store.fleet.listAgents();
    assert.deepEqual(
      agents.map((a) => [a.id, a.bootId, a.labels, a.agentVersion, a.connected, a.firstSeen, a.lastSeen]),
      [
        ['gpu-a', 'a1', {}, '1.0', false, T0, T0 + 7],
        ['gpu-b', 'b2', { rack: 'r3' }, '1.1', true, T0, T0 + 5],
      ],
    );
    await store.events.appendEvents('gpu-b', [event(1, { agentId: 'gpu-b' })], T0 + 9);
    await store.fleet.markAllDisconnected();
    agents = await store.fleet.listAgents();
    assert.deepEqual(
      agents.map((a) => [a.id, a.connected, a.lastSeen]),
      [
        ['gpu-a', false, T0 + 7],
        ['gpu-b', false, T0 + 9],
      ],
    );
  }));
