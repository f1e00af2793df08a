import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import type { ServiceState } from '../../../shared/protocol/constants.js';
import { FleetTracker } from '../../../coordinator/fleet/tracker.js';
import { quantile } from '../../../coordinator/history/bucket.js';
import { uptime } from '../../../coordinator/history/derive.js';
import { HistoryRecorder } from '../../../coordinator/history/recorder.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { hello, iso, snapshot, T0 } from '../protocol-samples.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const LOST_AFTER = 30_000;
const HEARTBEAT = 10_000;

/**
 * One scripted day of one service on an injected clock, against a hand computation:
 *   00:00 healthy · 06:00 down (a restart at 06:00:30, starting at 06:02) · 06:10 healthy
 *   12:00–13:00 degraded (up) · 18:00 agent disconnects, lost at 18:00:30 (not observed)
 *   19:00 back, healthy · 22:00 down · 22:30 healthy · until 24:00.
 * Observed: 1440 min − 59.5 min offline = 1380.5 min; down: 10 + 30 = 40 min.
 */
test('history: uptime and incidents over a scripted day match a hand computation', async () => {
  const clock = new FakeClock(T0);
  const store = SqliteStore.open(':memory:');
  const fleet = new FleetTracker(clock, LOST_AFTER);
  const recorder = new HistoryRecorder({ fleet, clock, store: store.history, agentLostAfter: LOST_AFTER, logger: { error: () => undefined } });
  let seq = 0;
  let connected = false;
  const at = async (t: number) => {
    // a connected agent is heard from every 10 s (heartbeats); the recorder ticks as often
    for (let s = Math.floor(clock.now() / HEARTBEAT) * HEARTBEAT + HEARTBEAT; s < T0 + t; s += HEARTBEAT) {
      clock.set(s);
      if (connected) fleet.apply({ type: 'seen', at: s, agentId: 'gpu-a' });
      await recorder.tick();
    }
    clock.set(T0 + t);
    await recorder.tick();
  };
  const connect = () => {
    connected = true;
    fleet.apply({ type: 'hello', at: clock.now(), msg: hello('gpu-a', 'boot1', ['llama']) });
    fleet.apply({ type: 'snapshot', at: clock.now(), agentId: 'gpu-a', msg: snapshot({ llama: 'healthy' }, clock.now()) });
  };
  const event = (type: 'state_changed' | 'restart_started', to?: ServiceState) =>
    fleet.apply({ type: 'event', at: clock.now(), event: { agentId: 'gpu-a', bootId: 'boot1', seq: ++seq, at: iso(clock.now()), type, service: 'llama', reason: 'scripted', ...(to ? { to } : {}) } });
  try {
    connect();
    await at(3 * HOUR);
    const latencies = [10, 20, 30, 40, 60, 70, 80, 90, 300, 3000];
    fleet.apply({ type: 'probes', at: clock.now(), agentId: 'gpu-a', msg: { type: 'probes', v: 1, results: latencies.map((l, i) => ({ service: 'llama', ok: i < 8, state: 'healthy' as const, latencyMs: l, at: iso(clock.now()) })) } });
    await at(6 * HOUR);
    event('state_changed', 'down');
    await at(6 * HOUR + 30_000);
    event('restart_started');
    await at(6 * HOUR + 2 * MIN);
    event('state_changed', 'starting');
    await at(6 * HOUR + 10 * MIN);
    event('state_changed', 'healthy');
    await at(12 * HOUR);
    event('state_changed', 'degraded');
    await at(13 * HOUR);
    event('state_changed', 'healthy');
    await at(18 * HOUR);
    fleet.apply({ type: 'disconnected', at: clock.now(), agentId: 'gpu-a' });
    connected = false;
    await at(18 * HOUR + LOST_AFTER);
    fleet.sweep(); // what the coordinator's sweep timer does: the agent is lost now
    await at(19 * HOUR);
    connect();
    await at(22 * HOUR);
    event('state_changed', 'down');
    await at(22 * HOUR + 30 * MIN);
    event('state_changed', 'healthy');
    await at(24 * HOUR);

    const buckets = await store.history.listBuckets('gpu-a', 'llama', T0, T0 + 24 * HOUR);
    assert.equal(buckets.length, 24 * 60 - 59, 'one bucket per minute, except minutes with nothing observed (18:01–18:59)');
    const sum = (state: ServiceState) => buckets.reduce((n, b) => n + (b.stateMs[state] ?? 0), 0);
    assert.equal(sum('unknown'), 30_000, 'the unobserved half of 18:00 is in its bucket');
    assert.equal(sum('healthy') + sum('degraded'), 1340.5 * MIN);
    assert.equal(sum('down') + sum('starting'), 40 * MIN);
    assert.equal(sum('degraded'), HOUR);
    assert.equal(uptime(buckets), Math.round((1340.5 / 1380.5) * 100_000) / 1000);
    assert.equal(uptime(buckets), 97.102, 'by hand: 1340.5 / 1380.5 = 97.10249… %');

    const probed = buckets.find((b) => b.minute === T0 + 3 * HOUR)!;
    assert.equal(probed.probes, 10);
    assert.equal(probed.failures, 2);
    assert.equal(probed.latencyMaxMs, 3000);
    assert.equal(quantile(probed, 0.5), 100, 'p50: the 5th of 10 (60 ms) lies in the ≤100 ms bin');
    assert.equal(quantile(probed, 0.95), 3000, 'p95: the 10th (3000 ms) lies in the ≤5000 ms bin, capped by the maximum');

    const incidents = await store.history.listIncidents('gpu-a', 'llama', T0);
    assert.deepEqual(
      incidents.map((i) => [i.startedAt - T0, i.endedAt! - T0, i.worst, i.restarts]),
      [
        [6 * HOUR, 6 * HOUR + 10 * MIN, 'down', 1],
        [22 * HOUR, 22 * HOUR + 30 * MIN, 'down', 0],
      ],
      'degraded is up; an offline agent neither starts nor ends an incident',
    );
  } finally {
    recorder.stop();
    await store.close();
  }
});
