import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { FleetTracker } from '../../../coordinator/fleet/tracker.js';
import { HistoryRecorder } from '../../../coordinator/history/recorder.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { hello, snapshot, T0 } from '../protocol-samples.js';

const LOST_AFTER = 30_000;

function observe(clock: FakeClock, store: SqliteStore): { fleet: FleetTracker; recorder: HistoryRecorder } {
  const fleet = new FleetTracker(clock, LOST_AFTER);
  const recorder = new HistoryRecorder({ fleet, clock, store: store.history, agentLostAfter: LOST_AFTER, logger: { error: () => undefined } });
  fleet.apply({ type: 'hello', at: clock.now(), msg: hello('gpu-a', 'boot1', ['llama']) });
  fleet.apply({ type: 'snapshot', at: clock.now(), agentId: 'gpu-a', msg: snapshot({ llama: 'healthy' }, clock.now()) });
  return { fleet, recorder };
}

test('history: the minute in progress is stored at shutdown, and the next run adds its part of that minute', async () => {
  const clock = new FakeClock(T0);
  const store = SqliteStore.open(':memory:');
  try {
    const first = observe(clock, store);
    clock.set(T0 + 20_000);
    await first.recorder.tick();
    assert.deepEqual(await store.history.listBuckets('gpu-a', 'llama', T0, T0 + 60_000), [], 'a tick stores finished minutes only');
    await first.recorder.flush();
    first.recorder.stop();
    const stored = await store.history.listBuckets('gpu-a', 'llama', T0, T0 + 60_000);
    assert.deepEqual(stored.map((b) => [b.minute, b.stateMs]), [[T0, { healthy: 20_000 }]]);

    // no coordinator for 15 s (not observed), then a new run takes over at T0 + 35 s
    clock.set(T0 + 35_000);
    const second = observe(clock, store);
    clock.set(T0 + 60_000);
    await second.recorder.tick();
    const both = await store.history.listBuckets('gpu-a', 'llama', T0, T0 + 60_000);
    assert.deepEqual(both.map((b) => [b.minute, b.stateMs]), [[T0, { healthy: 45_000 }]], '20 s from the first run + 25 s from the second');
  } finally {
    await store.close();
  }
});
