import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { EMPTY_FLEET, FleetTracker, fleetFromAgents, fleetView, reduceFleet, type FleetInput, type FleetState } from '../../../coordinator/fleet/index.js';
import { T0, event, gpu, hello, iso, probes, snapshot } from '../protocol-samples.js';

const LOST_AFTER = 30_000;

function run(inputs: FleetInput[], state: FleetState = EMPTY_FLEET): FleetState {
  return inputs.reduce(reduceFleet, state);
}

function svc(state: FleetState, now: number, host: string, service: string) {
  const h = fleetView(state, now, LOST_AFTER).hosts.find((x) => x.id === host);
  return h?.services.find((s) => s.name === service);
}

test('hello creates a host whose services are unknown until reported; the view has exactly the documented keys', () => {
  const s = run([{ type: 'hello', at: T0, msg: hello() }]);
  const view = fleetView(s, T0, LOST_AFTER);
  assert.deepEqual(view, {
    hosts: [
      {
        id: 'gpu-a',
        labels: { rack: 'r1', gpu: 'h100' },
        connected: true,
        retired: false,
        lastSeen: iso(T0),
        gpu: null,
        services: [
          { name: 'llama', kind: 'llamacpp', state: 'unknown', reason: 'no report yet', url: 'http://127.0.0.1:8001', lastProbe: { ok: null, latencyMs: null, at: null }, restarts: { count: 0, lastAt: null, lastOutcome: null } },
          { name: 'qwen', kind: 'vllm', state: 'unknown', reason: 'no report yet', url: 'http://127.0.0.1:8002', lastProbe: { ok: null, latencyMs: null, at: null }, restarts: { count: 0, lastAt: null, lastOutcome: null } },
        ],
        maintenance: null,
      },
    ],
  });
});

test('snapshot, events, probes and gpu update the view', () => {
  const s = run([
    { type: 'hello', at: T0, msg: hello() },
    { type: 'snapshot', at: T0, agentId: 'gpu-a', msg: snapshot({ llama: 'healthy', qwen: 'degraded' }) },
    { type: 'event', at: T0 + 5000, event: event(5, { to: 'down', reason: 'connection refused' }) },
    { type: 'event', at: T0 + 6000, event: event(6, { type: 'restart_started', to: undefined, reason: 'restarting unit' }) },
    { type: 'event', at: T0 + 7000, event: event(7, { type: 'restart_succeeded', to: undefined, reason: 'unit active' }) },
    { type: 'probes', at: T0 + 8000, agentId: 'gpu-a', msg: probes(T0 + 8000) },
    { type: 'gpu', at: T0 + 8000, agentId: 'gpu-a', msg: gpu(T0 + 8000) },
  ]);
  const llama = svc(s, T0 + 8000, 'gpu-a', 'llama')!;
  assert.equal(llama.state, 'down');
  assert.equal(llama.reason, 'connection refused');
  assert.deepEqual(llama.restarts, { count: 1, lastAt: iso(T0 + 6000), lastOutcome: 'succeeded' });
  assert.deepEqual(llama.lastProbe, { ok: true, latencyMs: 8, at: iso(T0 + 8000) });
  assert.equal(svc(s, T0 + 8000, 'gpu-a', 'qwen')!.state, 'degraded');
  const host = fleetView(s, T0 + 8000, LOST_AFTER).hosts[0]!;
  assert.equal(host.gpu!.gpus[0]!.temperatureC, 90);
  assert.equal(host.lastSeen, iso(T0 + 8000));
});

test('replayed older events never roll back state or double-count restarts', () => {
  const base = run([
    { type: 'hello', at: T0, msg: hello() },
    { type: 'event', at: T0, event: event(1, { type: 'restart_started', to: undefined, at: iso(T0 + 1000) }) },
    { type: 'snapshot', at: T0 + 10_000, agentId: 'gpu-a', msg: { ...snapshot({ llama: 'healthy' }, T0 + 9000), services: [{ ...snapshot({ llama: 'healthy' }, T0 + 9000).services[0]!, restarts: { count: 1, lastAt: iso(T0 + 1000), lastOutcome: 'succeeded' } }] } },
  ]);
  // the spool replays an old state change and the old restart after the snapshot
  const after = run(
    [
      { type: 'event', at: T0 + 11_000, event: event(1, { type: 'restart_started', to: undefined, at: iso(T0 + 1000) }) },
      { type: 'event', at: T0 + 11_000, event: event(2, { to: 'down', at: iso(T0 + 2000) }) },
    ],
    base,
  );
  const llama = svc(after, T0 + 11_000, 'gpu-a', 'llama')!;
  assert.equal(llama.state, 'healthy');
  assert.equal(llama.restarts.count, 1);
  // a newer event still applies
  const newer = run([{ type: 'event', at: T0 + 12_000, event: event(3, { to: 'unhealthy', at: iso(T0 + 12_000), reason: 'timeout' }) }], after);
  assert.equal(svc(newer, T0 + 12_000, 'gpu-a', 'llama')!.state, 'unhealthy');
  // and an older probe result does not replace a newer one
  const p1 = run([{ type: 'probes', at: T0, agentId: 'gpu-a', msg: probes(T0 + 20_000) }], newer);
  const p2 = run([{ type: 'probes', at: T0, agentId: 'gpu-a', msg: { ...probes(T0 + 5000), results: [{ ...probes().results[0]!, ok: false, at: iso(T0 + 5000) }] } }], p1);
  assert.equal(svc(p2, T0 + 20_000, 'gpu-a', 'llama')!.lastProbe.ok, true);
});

test('gave_up events set the state; events for unknown services or hosts change nothing', () => {
  const s = run([{ type: 'hello', at: T0, msg: hello() }, { type: 'event', at: T0, event: event(1, { type: 'gave_up', to: undefined, reason: '3 restarts in 30m' }) }]);
  assert.equal(svc(s, T0, 'gpu-a', 'llama')!.state, 'gave_up');
  assert.equal(reduceFleet(s, { type: 'event', at: T0, event: event(2, { service: 'nope' }) }).hosts.get('gpu-a'), s.hosts.get('gpu-a'), 'unknown service: host unchanged');
  for (const input of [
    { type: 'event', at: T0, event: event(1, { agentId: 'ghost' }) },
    { type: 'snapshot', at: T0, agentId: 'ghost', msg: snapshot() },
    { type: 'seen', at: T0, agentId: 'ghost' },
    { type: 'disconnected', at: T0, agentId: 'ghost' },
    { type: 'agentLost', at: T0, agentId: 'ghost' },
  ] as FleetInput[]) {
    assert.equal(reduceFleet(s, input), s, input.type);
  }
});

test('reducers never mutate their input', () => {
  const deepFreeze = <T>(o: T): T => {
    if (o && typeof o === 'object' && !Object.isFrozen(o)) {
      Object.freeze(o);
      if (o instanceof Map) for (const v of o.values()) deepFreeze(v);
      else for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
  };
  const s = deepFreeze(run([{ type: 'hello', at: T0, msg: hello() }, { type: 'snapshot', at: T0, agentId: 'gpu-a', msg: snapshot() }]));
  const before = JSON.stringify(fleetView(s, T0, LOST_AFTER));
  const hostsBefore = [...s.hosts.entries()];
  run(
    [
      { type: 'event', at: T0 + 1, event: event(9) },
      { type: 'probes', at: T0 + 1, agentId: 'gpu-a', msg: probes(T0 + 1) },
      { type: 'disconnected', at: T0 + 2, agentId: 'gpu-a' },
      { type: 'agentLost', at: T0 + 3, agentId: 'gpu-a' },
      { type: 'hello', at: T0 + 4, msg: hello('gpu-a', 'boot2', ['llama']) },
    ],
    s,
  );
  assert.equal(JSON.stringify(fleetView(s, T0, LOST_AFTER)), before);
  assert.deepEqual([...s.hosts.entries()], hostsBefore);
});

test('hello again: services dropped from the agent config disappear, the rest keep their state', () => {
  const s = run([
    { type: 'hello', at: T0, msg: hello() },
    { type: 'snapshot', at: T0, agentId: 'gpu-a', msg: snapshot({ llama: 'down', qwen: 'healthy' }) },
    { type: 'hello', at: T0 + 1, msg: hello('gpu-a', 'boot2', ['llama', 'ollama']) },
  ]);
  const names = fleetView(s, T0 + 1, LOST_AFTER).hosts[0]!.services.map((x) => `${x.name}:${x.state}`);
  assert.deepEqual(names, ['llama:down', 'ollama:unknown']);
});

test('an agent not heard from for agentLostAfter is offline: services unknown, real state kept for its return', async () => {
  const clock = new FakeClock(T0);
  const fleet = new FleetTracker(clock, LOST_AFTER);
  const seen: string[] = [];
  fleet.subscribe((input) => seen.push(input.type));
  fleet.apply({ type: 'hello', at: clock.now(), msg: hello() });
  fleet.apply({ type: 'snapshot', at: clock.now(), agentId: 'gpu-a', msg: snapshot({ llama: 'down', qwen: 'healthy' }) });
  fleet.apply({ type: 'disconnected', at: clock.now(), agentId: 'gpu-a' });

  await clock.advance(LOST_AFTER); // exactly agentLostAfter: not yet
  let host = fleet.view().hosts[0]!;
  assert.equal(host.connected, false);
  assert.deepEqual(host.services.map((s) => s.state), ['down', 'healthy'], 'a short disconnect does not flap to unknown');
  assert.deepEqual(fleet.sweep(), []);

  await clock.advance(1);
  host = fleet.view().hosts[0]!;
  assert.deepEqual(host.services.map((s) => [s.state, s.reason]), [['unknown', 'agent offline'], ['unknown', 'agent offline']]);
  assert.deepEqual(fleet.sweep(), ['gpu-a']);
  assert.deepEqual(fleet.sweep(), [], 'declared lost once');
  assert.equal(fleet.state.hosts.get('gpu-a')!.services[0]!.state, 'down', 'last real state kept internally');

  // it comes back: hello restores the known states until its snapshot refreshes them
  fleet.apply({ type: 'hello', at: clock.now(), msg: hello() });
  host = fleet.view().hosts[0]!;
  assert.equal(host.connected, true);
  assert.deepEqual(host.services.map((s) => s.state), ['down', 'healthy']);
  assert.deepEqual(seen, ['hello', 'snapshot', 'disconnected', 'agentLost', 'hello']);
});

test('a connected agent that goes silent is offline too; any message brings it back', async () => {
  const clock = new FakeClock(T0);
  const fleet = new FleetTracker(clock, LOST_AFTER);
  fleet.apply({ type: 'hello', at: clock.now(), msg: hello() });
  fleet.apply({ type: 'snapshot', at: clock.now(), agentId: 'gpu-a', msg: snapshot() });
  await clock.advance(LOST_AFTER - 1);
  fleet.apply({ type: 'seen', at: clock.now(), agentId: 'gpu-a' });
  await clock.advance(LOST_AFTER - 1);
  assert.equal(fleet.view().hosts[0]!.services[0]!.state, 'healthy', 'heartbeat kept it alive');
  await clock.advance(2);
  assert.equal(fleet.view().hosts[0]!.services[0]!.state, 'unknown');
  fleet.sweep();
  fleet.apply({ type: 'seen', at: clock.now(), agentId: 'gpu-a' });
  assert.equal(fleet.view().hosts[0]!.services[0]!.state, 'healthy');
  assert.equal(fleet.state.hosts.get('gpu-a')!.lost, false);
});

test('hosts restored from the store start disconnected and offline when stale', () => {
  const s = fleetFromAgents([{ id: 'gpu-z', labels: { rack: 'r9' }, bootId: 'b', agentVersion: '1', lastSeen: T0 }]);
  const host = fleetView(s, T0 + LOST_AFTER + 1, LOST_AFTER).hosts[0]!;
  assert.deepEqual(host, { id: 'gpu-z', labels: { rack: 'r9' }, connected: false, retired: false, lastSeen: iso(T0), gpu: null, services: [], maintenance: null });
});

test('hosts are listed by id and ids like "constructor" are ordinary keys', () => {
  const s = run([
    { type: 'hello', at: T0, msg: hello('zeta') },
    { type: 'hello', at: T0, msg: hello('constructor') },
    { type: 'hello', at: T0, msg: hello('alpha') },
  ]);
  assert.deepEqual(fleetView(s, T0, LOST_AFTER).hosts.map((h) => h.id), ['alpha', 'constructor', 'zeta']);
});
