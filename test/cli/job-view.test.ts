import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countsLine, formatTargets, jobExitCode, progressBar, summaryLine, targetChanges, targetStates, type Job } from '../../cli/job-view.js';

const job = (states: Job['targets'][number]['state'][], state: Job['state'] = 'running'): Job => ({
  id: 'J1',
  state,
  targets: states.map((s, i) => ({ host: `gpu-${'abc'[i % 3]}`, service: `svc${i}`, unit: `svc${i}.service`, state: s, ...(s === 'failed' ? { reason: 'no healthy report\nwithin 10m' } : {}) })),
});

test('target lines: only what changed, pending ones not announced at first', () => {
  const first = job(['restarting', 'pending', 'pending']);
  assert.deepEqual(targetChanges(new Map(), first, '12:00:00'), ['12:00:00  gpu-a/svc0  restarting']);
  const next = job(['waiting', 'restarting', 'pending']);
  assert.deepEqual(targetChanges(targetStates(first), next, '12:00:01'), ['12:00:01  gpu-a/svc0  waiting', '12:00:01  gpu-b/svc1  restarting']);
  const failed = job(['healthy', 'failed', 'skipped']);
  assert.deepEqual(targetChanges(targetStates(next), failed, 't'), ['t  gpu-a/svc0  healthy', 't  gpu-b/svc1  failed: no healthy report within 10m', 't  gpu-c/svc2  skipped']);
});

test('progress bar and counts: done is healthy, failed or skipped; zeros left out', () => {
  const j = job(['healthy', 'waiting', 'pending', 'pending']);
  assert.equal(countsLine(j), '1 healthy · 1 waiting · 2 pending');
  assert.equal(progressBar(j), `[${'#'.repeat(6)}${'-'.repeat(18)}] 1/4  1 healthy · 1 waiting · 2 pending`);
  assert.equal(progressBar(job(['healthy', 'failed'])).slice(0, 26), `[${'#'.repeat(24)}]`);
});

test('summary and exit code: 0 only when the job succeeded with every target healthy', () => {
  assert.equal(jobExitCode(job(['healthy', 'healthy'], 'succeeded')), 0);
  assert.equal(jobExitCode(job(['healthy', 'skipped'], 'aborted')), 1);
  assert.equal(jobExitCode(job(['healthy', 'failed', 'skipped'], 'failed')), 1);
  assert.equal(summaryLine(job(['healthy', 'failed', 'skipped'], 'failed')), 'job J1 failed: 1 healthy · 1 failed · 1 skipped\n  gpu-b/svc1  failed: no healthy report within 10m\n  gpu-c/svc2  skipped');
  assert.equal(formatTargets([{ host: 'gpu-a', service: 'llama', unit: 'llama.service' }, { host: 'gpu-b', service: 'qwen-vl', unit: 'qwen.service' }]), '  gpu-a/llama    llama.service\n  gpu-b/qwen-vl  qwen.service\n');
});
