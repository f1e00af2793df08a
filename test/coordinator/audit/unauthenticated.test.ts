import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { silentLogger } from '../../../shared/logger.js';
import { Auditor } from '../../../coordinator/audit/auditor.js';
import { UnauthenticatedLimit } from '../../../coordinator/audit/unauthenticated-limit.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

const call = (remote: string, status: number, actor = 'anonymous') => ({ actor, remote, action: 'restart.create', target: null, detail: {}, outcome: 'refused' as const, status });

test('401s from one address: the first maxRows of a window are recorded, the rest counted onto its next row', () => {
  const limit = new UnauthenticatedLimit({ maxRows: 2, windowMs: 60_000, maxAddresses: 10 });
  assert.deepEqual(limit.admit('a', 0), { record: true, unrecordedBefore: 0 });
  assert.deepEqual(limit.admit('a', 1), { record: true, unrecordedBefore: 0 });
  assert.deepEqual(limit.admit('a', 2), { record: false, firstUnrecorded: true });
  assert.deepEqual(limit.admit('a', 3), { record: false, firstUnrecorded: false });
  assert.deepEqual(limit.admit('b', 4), { record: true, unrecordedBefore: 0 }, 'another address has its own window');
  assert.deepEqual(limit.admit('a', 60_000), { record: true, unrecordedBefore: 2 }, 'a new window: the two counted ride on its first row');
  assert.deepEqual(limit.admit('a', 60_001), { record: true, unrecordedBefore: 0 });
});

test('memory stays bounded: at most maxAddresses windows', () => {
  const limit = new UnauthenticatedLimit({ maxRows: 1, windowMs: 60_000, maxAddresses: 2 });
  for (const a of ['a', 'b', 'c']) limit.admit(a, 0);
  assert.deepEqual(limit.admit('a', 1), { record: true, unrecordedBefore: 0 }, 'a was dropped: it starts over');
  assert.deepEqual(limit.admit('c', 1), { record: false, firstUnrecorded: true });
});

test('the auditor writes at most 20 rows per address for calls without a valid token; token holders are always recorded', async () => {
  const clock = new FakeClock();
  const store = SqliteStore.open(':memory:');
  try {
    const auditor = new Auditor({ store: store.audit, clock, logger: silentLogger() });
    for (let i = 0; i < 500; i++) auditor.begin()(call('10.9.9.9', 401));
    for (let i = 0; i < 30; i++) auditor.begin()(call('10.1.1.1', 403, 'viewer token'));
    await auditor.idle();
    const rows = await store.audit.listAudit({ limit: 1000 });
    assert.equal(rows.filter((r) => r.remote === '10.9.9.9').length, 20, '20 of the 500 refused anonymous calls');
    assert.equal(rows.filter((r) => r.remote === '10.1.1.1').length, 30, 'every refused call of a token holder');
    await clock.advance(10 * 60_000);
    auditor.begin()(call('10.9.9.9', 401));
    await auditor.idle();
    const [latest] = await store.audit.listAudit({ limit: 1 });
    assert.equal(latest!.remote, '10.9.9.9');
    assert.equal((latest!.detail as { unrecordedBefore?: number }).unrecordedBefore, 480, 'the calls not recorded one by one are counted');
  } finally {
    await store.close();
  }
});
