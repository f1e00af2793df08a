import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RestartJob } from '../../../../coordinator/jobs/types.js';
import type { JobStore } from '../../../../coordinator/store/job-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';

export function restartJob(id: string, createdAt = T0, extra: Partial<RestartJob> = {}): RestartJob {
  return {
    id,
    createdAt,
    createdBy: 'ops',
    reason: 'new weights',
    selector: { hosts: ['gpu-*'], labels: { rack: 'r1' } },
    maxParallel: 2,
    healthTimeout: 600_000,
    maxFailures: 1,
    state: 'pending',
    startedAt: null,
    endedAt: null,
    abortRequested: false,
    targets: [
      { index: 0, host: 'gpu-a', service: 'llama', unit: 'llama.service', state: 'pending', commandId: null, startedAt: null, resultAt: null, endedAt: null, reason: '' },
      { index: 1, host: 'gpu-b', service: 'llama', unit: 'llama.service', state: 'pending', commandId: null, startedAt: null, resultAt: null, endedAt: null, reason: '' },
    ],
    ...extra,
  };
}

/** What every JobStore does (coordinator/store/job-store.ts). */
export function describeJobStoreConformance(name: string, open: OpenStore<JobStore>): void {
  describe(`JobStore conformance: ${name}`, () => {
    test('jobs: create, get, list newest first, unfinished oldest first; a duplicate id is refused', () =>
      withStore(open, async (store) => {
        await store.createJob(restartJob('a', T0));
        await store.createJob(restartJob('b', T0 + 1000));
        await store.createJob(restartJob('c', T0 + 2000, { state: 'succeeded', endedAt: T0 + 3000 }));
        await assert.rejects(store.createJob(restartJob('a')));
        assert.deepEqual(await store.getJob('a'), restartJob('a', T0));
        assert.equal(await store.getJob('nope'), undefined);
        assert.deepEqual((await store.listJobs(2)).map((j) => j.id), ['c', 'b']);
        assert.deepEqual((await store.unfinishedJobs()).map((j) => j.id), ['a', 'b']);
      }));

    test('updateJob changes only the given fields of the job and of the given targets', () =>
      withStore(open, async (store) => {
        await store.createJob(restartJob('a'));
        await store.updateJob('a', { state: 'running', startedAt: T0 + 5 }, [{ index: 1, state: 'restarting', commandId: 'cmd1', startedAt: T0 + 5, reason: 'sent' }]);
        await store.updateJob('a', { abortRequested: true }, [{ index: 1, state: 'waiting', resultAt: '2026-01-01T00:00:09.000Z' }]);
        const job = (await store.getJob('a'))!;
        assert.equal(job.state, 'running');
        assert.equal(job.startedAt, T0 + 5);
        assert.equal(job.abortRequested, true);
        assert.deepEqual(job.targets[0], restartJob('a').targets[0]);
        assert.deepEqual(job.targets[1], { ...restartJob('a').targets[1]!, state: 'waiting', commandId: 'cmd1', startedAt: T0 + 5, resultAt: '2026-01-01T00:00:09.000Z', reason: 'sent' });
        await store.updateJob('nope', { state: 'failed' }, [{ index: 0, state: 'failed' }]);
        assert.equal(await store.getJob('nope'), undefined);
      }));

    test('prune removes finished jobs ended before the cutoff, never unfinished ones', () =>
      withStore(open, async (store) => {
        await store.createJob(restartJob('old', T0, { state: 'failed', endedAt: T0 }));
        await store.createJob(restartJob('recent', T0, { state: 'aborted', endedAt: T0 + 10_000 }));
        await store.createJob(restartJob('running', T0 - 1_000_000, { state: 'running' }));
        await store.prune(T0 + 1);
        assert.deepEqual((await store.listJobs(10)).map((j) => j.id).sort(), ['recent', 'running']);
        assert.equal(await store.getJob('old'), undefined);
      }));

    test('jobs and their progress survive a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.createJob(restartJob('a'));
        await store.updateJob('a', { state: 'running' }, [{ index: 0, state: 'restarting', commandId: 'cmd1' }]);
        store = await restart();
        const [job] = await store.unfinishedJobs();
        assert.equal(job!.targets[0]!.commandId, 'cmd1');
        assert.equal(job!.targets[0]!.state, 'restarting');
      }));
  });
}
