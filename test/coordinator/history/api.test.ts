import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../shared/clock.js';
import { BUCKET_MS } from '../../../coordinator/store/history-store.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { bucket } from '../store/conformance/history-store.js';
import { getJson, startTestCoordinator, TestAgent, wsUrl } from '../helpers.js';
import { snapshot } from '../protocol-samples.js';

test('GET /api/v1/services/:host/:service/history: buckets, uptime for 24h/7d/30d, incidents; 404 and 400', async () => {
  const tc = await startTestCoordinator();
  const base = tc.coord.url;
  const { agent } = await TestAgent.hello(wsUrl(tc.coord), 'gpu-a', 'boot1');
  try {
    agent.send(snapshot({ llama: 'healthy', qwen: 'down' }));
    const now = Date.now();
    const minute = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    await tc.coord.store.history.addBuckets([bucket(minute - 2 * 86_400_000), bucket(minute - 10 * BUCKET_MS)]);
    const r = await getJson(`${base}/api/v1/services/gpu-a/llama/history?range=24h`);
    assert.equal(r.status, 200);
    assert.equal(r.body.stepMinutes, 1);
    assert.equal(r.body.buckets[0].probes, 60, 'the stored minute inside 24h');
    assert.deepEqual(r.body.buckets[0].latencyMs, { p50: 50, p95: 50, max: 12_000 });
    assert.deepEqual(r.body.buckets[0].stateSeconds, { healthy: 45, down: 15 });
    assert.ok(r.body.buckets.at(-1).stateSeconds.healthy >= 0, 'the minute in progress is included');
    assert.equal(typeof r.body.uptime['24h'], 'number');
    assert.ok(r.body.uptime['7d'] <= r.body.uptime['24h'], 'the older bucket (75 % up) weighs in over 7 days');
    assert.deepEqual(r.body.incidents, []);
    const week = await getJson(`${base}/api/v1/services/gpu-a/llama/history?range=7d`);
    assert.equal(week.body.stepMinutes, 7);
    assert.equal((await getJson(`${base}/api/v1/services/gpu-a/nope/history`)).status, 404);
    assert.equal((await getJson(`${base}/api/v1/services/gpu-a/llama/history?range=1y`)).status, 400);
    assert.equal((await getJson(`${base}/api/v1/services/gpu-a/llama/history?range=soon`)).status, 400);
  } finally {
    await agent.closeAndWait();
    await tc.close();
  }
});

test('history retention: buckets older than history.retention are pruned with the store retention run', async () => {
  const clock = new FakeClock(Date.UTC(2026, 2, 1));
  const tc = await startTestCoordinator('history: { retention: 1h }\nstore: { pruneInterval: 1s }', { clock });
  try {
    const now = clock.now();
    await tc.coord.store.history.addBuckets([bucket(now - 2 * 3_600_000), bucket(now - 30 * BUCKET_MS)]);
    await clock.advance(1500);
    const left = await tc.coord.store.history.listBuckets('gpu-a', 'llama', 0, now + BUCKET_MS);
    assert.deepEqual(left.map((b) => b.minute), [now - 30 * BUCKET_MS]);
  } finally {
    await tc.close();
  }
});

test('history size: one service-day of 1 s probes in SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-history-size-'));
  const file = join(dir, 'size.db');
  // sizes after close: the WAL is checkpointed into the file, so the file is everything
  await SqliteStore.open(file).close();
  const before = statSync(file).size;
  const store = SqliteStore.open(file);
  const day = Array.from({ length: 1440 }, (_, i) => bucket(Date.UTC(2026, 0, 1) + i * BUCKET_MS, { latency: [0, 40, 15, 4, 1, 0, 0, 0, 0, 0], failures: i % 50 === 0 ? 3 : 0, latencyMaxMs: 180 + (i % 17), stateMs: { healthy: 60_000 } }));
  await store.history.addBuckets(day);
  await store.close();
  const after = statSync(file).size;
  rmSync(dir, { recursive: true, force: true });
  const perDay = after - before;
  // docs/http-api.md states the figure; a change to the row layout that doubles it should be noticed
  assert.ok(perDay < 120_000, `one service-day took ${perDay} bytes`);
  process.stdout.write(`# history: one service-day (1440 buckets of 60 probes) ≈ ${perDay} bytes\n`);
});
