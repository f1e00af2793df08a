import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { coordinatorLiveness, startDeadMansSwitch, TICK_STALE_MS } from '../../coordinator/self-watch.js';

test('liveness: a stale alert tick or an unusable store is a problem', async () => {
  const clock = new FakeClock();
  let tick = clock.now();
  let health: { ok: boolean; error?: string } = { ok: true };
  const check = coordinatorLiveness({ clock, store: { checkWritable: async () => health }, lastTickAt: () => tick });
  assert.equal(await check(), null);
  clock.set(tick + TICK_STALE_MS + 1_000);
  assert.equal(await check(), 'the alert evaluation tick last completed 11 s ago');
  tick = clock.now();
  health = { ok: false, error: 'SQLITE_FULL: database or disk is full' };
  assert.equal(await check(), 'store: SQLITE_FULL: database or disk is full');
});

test("dead-man's switch: pings while healthy, none while not, none after stop", async () => {
  const clock = new FakeClock();
  const hits: string[] = [];
  let problem: string | null = null;
  const fetchStub = (async (url: string, init: { method: string }) => {
    hits.push(`${init.method} ${url}`);
    return new Response('OK');
  }) as unknown as typeof fetch;
  const stop = startDeadMansSwitch({ pingUrl: 'https://hc.example/ping/uuid', interval: 60_000, method: 'POST', timeout: 10_000 }, { clock, logger: silentLogger(), check: () => problem, fetch: fetchStub });
  await flushMicrotasks();
  await clock.advance(0);
  assert.deepEqual(hits, ['POST https://hc.example/ping/uuid'], 'one at once');
  await clock.advance(120_000);
  assert.equal(hits.length, 3);
  problem = 'store: closed';
  await clock.advance(180_000);
  assert.equal(hits.length, 3, 'an unhealthy coordinator does not vouch for itself');
  problem = null;
  await clock.advance(60_000);
  assert.equal(hits.length, 4);
  stop();
  await clock.advance(600_000);
  assert.equal(hits.length, 4);
});
