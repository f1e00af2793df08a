import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WRITE_FAILURE_MEMORY_MS, WRITE_PROBE_INTERVAL_MS, WriteHealth } from '../../../coordinator/store/write-health.js';

const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });

test('WriteHealth: the probe runs at most once per interval and its failure is reported', () => {
  let now = 1_000_000;
  let probes = 0;
  let failing: Error | undefined;
  const health = new WriteHealth(() => {
    probes++;
    if (failing) throw failing;
  }, () => now);
  assert.deepEqual(health.check(), { ok: true });
  assert.deepEqual(health.check(), { ok: true });
  assert.equal(probes, 1, 'a second check within the interval reuses the answer');
  failing = sqliteError('SQLITE_FULL', 'database or disk is full');
  now += WRITE_PROBE_INTERVAL_MS;
  assert.deepEqual(health.check(), { ok: false, error: 'SQLITE_FULL: database or disk is full' });
  assert.equal(probes, 2);
});

test('WriteHealth: a failed real write is reported for a while although the probe passes', async () => {
  let now = 1_000_000;
  const health = new WriteHealth(() => undefined, () => now);
  const tables = health.watch({
    async append(): Promise<void> {
      throw sqliteError('SQLITE_READONLY', 'attempt to write a readonly database');
    },
    async bad(): Promise<void> {
      throw sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed');
    },
  });
  await assert.rejects(tables.bad(), /UNIQUE/);
  assert.deepEqual(health.check(), { ok: true }, 'a constraint says nothing about the disk');
  await assert.rejects(tables.append(), /readonly/, 'the caller still gets the error');
  assert.deepEqual(health.check(), { ok: false, error: 'SQLITE_READONLY: attempt to write a readonly database' });
  now += WRITE_FAILURE_MEMORY_MS;
  assert.deepEqual(health.check(), { ok: true }, 'forgotten once no write has failed for a while');
});
