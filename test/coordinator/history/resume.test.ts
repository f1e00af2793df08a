import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { FleetTracker } from '../../../coordinator/fleet/tracker.js';
import { HistoryRecorder } from '../../../coordinator/history/recorder.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { hello, iso, snapshot, T0 } from '../protocol-samples.js';

const LOST_AFTER = 30_000;

/** One coordinator run's fleet and recorder over `store`, the agent connected with llama in `state`. */
async function run(clock: FakeClock, store: SqliteStore, state: string) {
  const fleet = new FleetTracker(clock, LOST_AFTER);
  const recorder = new HistoryRecorder({ fleet, clock, store: store.history, agentLostAfter: LOST_AFTER, logger: { error: () => undefined } });
  await recorder.resume();
  fleet.apply({ type: 'hello', at: clock.now(), msg: hello('gpu-a', 'boot1', ['llama']) });
  fleet.apply({ type: 'snapshot', at: clock.now(), agentId: 'gpu-a', msg: snapshot({ llama: state }, clock.now()) });
  let seq = 0;
  const becomes = (to: 'down' | 'healthy') =>
    fleet.apply({ type: 'event', at: clock.now(), event: { agentId: 'gpu-a', bootId: 'boot1', seq: ++seq, at: iso(clock.now()), type: 'state_changed', service: 'llama', reason: 'scripted', to } });
  return { recorder, becomes };
}

const incidents = async (store: SqliteStore) => (await store.history.listIncidents('gpu-a', 'llama', 0)).map((i) => [i.startedAt - T0, i.endedAt === null ? null : i.endedAt - T0, i.worst]);

/** A first coordinator run over a fresh store sees llama healthy, then down at T0 + 60 s, and stops; `rest` is the next run. */
async function afterARunLeftAnIncidentOpen(rest: (clock: FakeClock, store: SqliteStore) => Promise<void>): Promise<void> {
  const clock = new FakeClock(T0);
  const store = SqliteStore.open(':memory:');
  try {
    const first = await run(clock, store, 'healthy');
    clock.set(T0 + 60_000);
    first.becomes('down');
    clock.set(T0 + 90_000);
    await first.recorder.flush();
    first.recorder.stop();
    assert.deepEqual(await incidents(store), [[60_000, null, 'down']]);
    await rest(clock, store);
  } finally {
    await store.close();
  }
}

test('history: an incident open when the coordinator stopped ends when the next run sees the service up', () =>
  afterARunLeftAnIncidentOpen(async (clock, store) => {
    // the next run finds it healthy at once: the incident ends then
    clock.set(T0 + 300_000);
    await run(clock, store, 'healthy');
    assert.deepEqual(await incidents(store), [[60_000, 300_000, 'down']], 'one incident, ended; not left open');
    assert.deepEqual(await store.history.openIncidents(), []);
  }));

test('history: an incident still going on after a coordinator restart continues as the same incident', () =>
  afterARunLeftAnIncidentOpen(async (clock, store) => {
    clock.set(T0 + 120_000);
    const second = await run(clock, store, 'down');
    clock.set(T0 + 180_000);
    second.becomes('healthy');
    assert.deepEqual(await incidents(store), [[60_000, 180_000, 'down']], 'no second incident beside the first');
  }));
