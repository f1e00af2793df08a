import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKET_MS, LATENCY_BINS, type HistoryBucket, type HistoryStore } from '../../../../coordinator/store/history-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';

export function bucket(minute: number, overrides: Partial<HistoryBucket> = {}): HistoryBucket {
  const latency = new Array<number>(LATENCY_BINS).fill(0);
  latency[1] = 50;
  latency[9] = 1;
  return { host: 'gpu-a', service: 'llama', minute, probes: 60, failures: 2, latencyMaxMs: 12_000, latency, stateMs: { healthy: 45_000, down: 15_000 }, ...overrides };
}

/** What every HistoryStore does (coordinator/store/history-store.ts). */
export function describeHistoryStoreConformance(name: string, open: OpenStore<HistoryStore>): void {
  describe(`HistoryStore conformance: ${name}`, () => {
    test('buckets: stored per host, service and minute; listed oldest first within [from, to)', () =>
      withStore(open, async (store) => {
        await store.addBuckets([bucket(T0 + BUCKET_MS), bucket(T0), bucket(T0, { service: 'qwen' }), bucket(T0 + 2 * BUCKET_MS)]);
        const list = await store.listBuckets('gpu-a', 'llama', T0, T0 + 2 * BUCKET_MS);
        assert.deepEqual(list, [bucket(T0), bucket(T0 + BUCKET_MS)]);
        assert.deepEqual(await store.listBuckets('gpu-a', 'nope', T0, T0 + 10 * BUCKET_MS), []);
        assert.deepEqual(await store.listBuckets('gpu-b', 'llama', T0, T0 + 10 * BUCKET_MS), []);
      }));

    test('a second bucket for the same minute adds to the first (a restart mid-minute)', () =>
      withStore(open, async (store) => {
        await store.addBuckets([bucket(T0, { stateMs: { healthy: 20_000 }, latencyMaxMs: 5 })]);
        await store.addBuckets([bucket(T0, { stateMs: { healthy: 10_000, unknown: 30_000 }, latencyMaxMs: 9, failures: 0 })]);
        const [b] = await store.listBuckets('gpu-a', 'llama', T0, T0 + BUCKET_MS);
        assert.equal(b!.probes, 120);
        assert.equal(b!.failures, 2);
        assert.equal(b!.latencyMaxMs, 9);
        assert.equal(b!.latency[1], 100);
        assert.deepEqual(b!.stateMs, { unknown: 30_000, healthy: 30_000 });
      }));

    test('incidents: put replaces by start; listed when open or ended at or after `from`', () =>
      withStore(open, async (store) => {
        const base = { host: 'gpu-a', service: 'llama' };
        await store.putIncident({ ...base, startedAt: T0, endedAt: T0 + 600_000, worst: 'down', restarts: 1 });
        await store.putIncident({ ...base, startedAt: T0 + 3_600_000, endedAt: null, worst: 'restarting', restarts: 0 });
        await store.putIncident({ ...base, startedAt: T0 + 3_600_000, endedAt: null, worst: 'down', restarts: 2 });
        await store.putIncident({ host: 'gpu-a', service: 'qwen', startedAt: T0, endedAt: null, worst: 'down', restarts: 0 });
        assert.deepEqual((await store.listIncidents('gpu-a', 'llama', T0)).map((i) => [i.startedAt, i.endedAt, i.worst, i.restarts]), [
          [T0, T0 + 600_000, 'down', 1],
          [T0 + 3_600_000, null, 'down', 2],
        ]);
        assert.deepEqual((await store.listIncidents('gpu-a', 'llama', T0 + 600_001)).map((i) => i.startedAt), [T0 + 3_600_000]);
        assert.deepEqual(
          (await store.openIncidents()).map((i) => [i.host, i.service, i.startedAt, i.endedAt, i.worst, i.restarts]),
          [
            ['gpu-a', 'qwen', T0, null, 'down', 0],
            ['gpu-a', 'llama', T0 + 3_600_000, null, 'down', 2],
          ],
          'every open incident, oldest first',
        );
      }));

    test('prune removes buckets before the cutoff and ended incidents; never an open one', () =>
      withStore(open, async (store) => {
        await store.addBuckets([bucket(T0), bucket(T0 + BUCKET_MS), bucket(T0 + 2 * BUCKET_MS)]);
        await store.putIncident({ host: 'gpu-a', service: 'llama', startedAt: T0, endedAt: T0 + 1000, worst: 'down', restarts: 0 });
        await store.putIncident({ host: 'gpu-a', service: 'llama', startedAt: T0 + 10, endedAt: null, worst: 'down', restarts: 0 });
        assert.equal(await store.prune(T0 + 2 * BUCKET_MS), 2);
        assert.deepEqual((await store.listBuckets('gpu-a', 'llama', 0, T0 + 10 * BUCKET_MS)).map((b) => b.minute), [T0 + 2 * BUCKET_MS]);
        assert.deepEqual((await store.listIncidents('gpu-a', 'llama', 0)).map((i) => i.startedAt), [T0 + 10]);
      }));

    test('history survives a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.addBuckets([bucket(T0)]);
        store = await restart();
        assert.deepEqual(await store.listBuckets('gpu-a', 'llama', T0, T0 + BUCKET_MS), [bucket(T0)]);
      }));
  });
}
