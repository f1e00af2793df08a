import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { CommandMessage, Event } from '../../../shared/protocol/messages.js';
import { FleetTracker } from '../../../coordinator/fleet/tracker.js';
import type { FleetInput } from '../../../coordinator/fleet/types.js';
import { JobConflictError, RestartScheduler } from '../../../coordinator/jobs/scheduler.js';
import type { RestartJob } from '../../../coordinator/jobs/types.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { T0, hello, iso } from '../protocol-samples.js';
import { restartJob } from '../store/conformance/job-store.js';

const logger = createLogger({ level: 'silent' });

/** A scheduler on a real fleet tracker and an in-memory store, time moved by hand. */
function setup(store = SqliteStore.open(':memory:'), clock = new FakeClock(T0), fleet = new FleetTracker(clock, 30_000), idPrefix = 'c') {
  const sent: (CommandMessage & { host: string })[] = [];
  const connected = new Set<string>();
  let n = 0;
  const scheduler = new RestartScheduler({
    store: store.jobs,
    events: store.events,
    fleet,
    clock,
    logger,
    send: (host, cmd) => {
      if (!connected.has(host)) return false;
      sent.push({ ...cmd, host });
      return true;
    },
    newId: () => `${idPrefix}${++n}`,
  });
  const feed = (input: FleetInput) => {
    fleet.apply(input);
    scheduler.observe(input);
  };
  const online = (host: string, services = ['llama', 'qwen']) => {
    connected.add(host);
    feed({ type: 'hello', at: clock.now(), msg: hello(host, 'boot1', services) });
  };
  const offline = (host: string) => {
    connected.delete(host);
    feed({ type: 'disconnected', at: clock.now(), agentId: host });
  };
  let seq = 0;
  const report = (host: string, e: Partial<Event>) => {
    const event = { agentId: host, bootId: 'boot1', seq: ++seq, at: iso(clock.now()), type: 'state_changed', reason: 'r', ...e } as Event;
    feed({ type: 'event', at: clock.now(), event });
    return event;
  };
  const result = (cmd: { host: string; id: string; service: string }, ok = true) => report(cmd.host, { type: 'command_result', service: cmd.service, reason: ok ? 'restarted' : 'refused: not in config', data: { id: cmd.id, ok } });
  const healthy = (host: string, service: string) => report(host, { service, from: 'starting', to: 'healthy', reason: 'ready' });
  return { store, clock, fleet, feed, scheduler, sent, online, offline, report, result, healthy };
}

function job(targets: [string, string][], extra: Partial<RestartJob> = {}): RestartJob {
  return restartJob('j1', T0, {
    maxParallel: 1,
    targets: targets.map(([host, service], index) => ({ index, host, service, unit: `${service}.service`, state: 'pending', commandId: null, startedAt: null, resultAt: null, endedAt: null, reason: '' })),
    ...extra,
  });
}

const settle = async (s: ReturnType<typeof setup>) => {
  await s.clock.advance(0);
  await s.scheduler.idle();
};

test('maxParallel 2: two commands at a time, the next only after one is reported healthy; each target once; succeeded', async () => {
  const s = setup();
  s.online('gpu-a');
  s.online('gpu-b');
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama'], ['gpu-a', 'qwen'], ['gpu-b', 'llama'], ['gpu-b', 'qwen']], { maxParallel: 2 }));
  assert.deepEqual(s.sent.map((c) => `${c.host}/${c.service}`), ['gpu-a/llama', 'gpu-a/qwen']);

  s.result(s.sent[0]!);
  await settle(s);
  assert.equal(s.scheduler.get('j1')!.targets[0]!.state, 'waiting');
  assert.equal(s.sent.length, 2, 'a restarted target still counts until it is reported healthy');

  await s.clock.advance(2000);
  s.healthy('gpu-a', 'llama');
  await settle(s);
  assert.deepEqual(s.sent.map((c) => `${c.host}/${c.service}`), ['gpu-a/llama', 'gpu-a/qwen', 'gpu-b/llama']);

  for (const cmd of s.sent.slice(1)) s.result(cmd);
  await settle(s);
  s.healthy('gpu-a', 'qwen');
  s.healthy('gpu-b', 'llama');
  await settle(s);
  s.result(s.sent[3]!);
  await settle(s);
  s.healthy('gpu-b', 'qwen');
  await settle(s);
  const done = (await s.store.jobs.getJob('j1'))!;
  assert.equal(done.state, 'succeeded');
  assert.deepEqual(done.targets.map((t) => t.state), ['healthy', 'healthy', 'healthy', 'healthy']);
  assert.equal(new Set(s.sent.map((c) => c.id)).size, 4, 'one command per target');
  assert.equal(s.scheduler.get('j1'), undefined, 'a finished job leaves the scheduler');
});

test('healthy only counts from a report after the command result, never from the state before it', async () => {
  const s = setup();
  s.online('gpu-a');
  s.healthy('gpu-a', 'llama'); // healthy before the restart
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama']]));
  await s.clock.advance(1000);
  s.result(s.sent[0]!);
  await settle(s);
  assert.equal(s.scheduler.get('j1')!.targets[0]!.state, 'waiting', 'the old healthy state is older than the result');
  s.feed({ type: 'probes', at: s.clock.now(), agentId: 'gpu-a', msg: { type: 'probes', v: 1, results: [{ service: 'llama', ok: true, state: 'starting', latencyMs: 3, at: iso(s.clock.now()) }] } });
  await settle(s);
  assert.equal(s.scheduler.get('j1')!.targets[0]!.state, 'waiting', 'a starting probe is not healthy');
  await s.clock.advance(1000);
  s.feed({ type: 'probes', at: s.clock.now(), agentId: 'gpu-a', msg: { type: 'probes', v: 1, results: [{ service: 'llama', ok: true, state: 'healthy', latencyMs: 3, at: iso(s.clock.now()) }] } });
  await settle(s);
  assert.equal((await s.store.jobs.getJob('j1'))!.state, 'succeeded', 'a healthy probe after the result counts');
});

test('targets that never come back fail at healthTimeout; past maxFailures the rest are skipped and the job fails', async () => {
  const s = setup();
  s.online('gpu-a');
  s.online('gpu-b');
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama'], ['gpu-a', 'qwen'], ['gpu-b', 'llama'], ['gpu-b', 'qwen']], { maxFailures: 1, healthTimeout: 60_000 }));
  s.result(s.sent[0]!);
  await settle(s);
  await s.clock.advance(59_999);
  await settle(s);
  assert.equal(s.scheduler.get('j1')!.targets[0]!.state, 'waiting', 'not before the deadline');
  await s.clock.advance(1);
  await settle(s);
  assert.equal(s.sent.length, 2, 'one failure is within maxFailures: the job goes on');
  await s.clock.advance(60_000); // no result at all for the second
  await settle(s);
  const done = (await s.store.jobs.getJob('j1'))!;
  assert.equal(done.state, 'failed');
  assert.deepEqual(done.targets.map((t) => t.state), ['failed', 'failed', 'skipped', 'skipped']);
  assert.match(done.targets[0]!.reason, /not reported healthy within 1m/);
  assert.match(done.targets[1]!.reason, /no result from the agent within 1m/);
  assert.match(done.targets[2]!.reason, /more than maxFailures \(1\)/);
  assert.equal(s.sent.length, 2);
  assert.equal(s.clock.pendingTimers(), 0, 'nothing left waiting');
});

test('a refused command fails its target; an offline host is skipped, never waited on', async () => {
  const s = setup();
  s.online('gpu-a');
  s.online('gpu-b');
  s.offline('gpu-b');
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama'], ['gpu-b', 'llama']], { maxFailures: 5 }));
  s.result(s.sent[0]!, false);
  await settle(s);
  const done = (await s.store.jobs.getJob('j1'))!;
  assert.deepEqual(done.targets.map((t) => [t.state, t.reason]), [
    ['failed', 'agent: refused: not in config'],
    ['skipped', 'host gpu-b is offline'],
  ]);
  assert.equal(done.state, 'failed');
});

test('abort: pending targets are skipped at once, the one in flight finishes, then the job is aborted', async () => {
  const s = setup();
  s.online('gpu-a');
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama'], ['gpu-a', 'qwen']]));
  assert.equal(await s.scheduler.abort('j1'), true);
  let j = s.scheduler.get('j1')!;
  assert.deepEqual(j.targets.map((t) => t.state), ['restarting', 'skipped']);
  assert.equal(j.state, 'running');
  s.result(s.sent[0]!);
  await s.clock.advance(10);
  s.healthy('gpu-a', 'llama');
  await settle(s);
  j = (await s.store.jobs.getJob('j1'))!;
  assert.equal(j.state, 'aborted');
  assert.equal(j.targets[0]!.state, 'healthy');
  assert.equal(s.sent.length, 1);
  assert.equal(await s.scheduler.abort('j1'), false, 'an ended job cannot be aborted');
});

test('a target in another unfinished job is refused', async () => {
  const s = setup();
  s.online('gpu-a');
  await s.scheduler.start();
  await s.scheduler.create(job([['gpu-a', 'llama'], ['gpu-a', 'qwen']]));
  await assert.rejects(s.scheduler.create(job([['gpu-a', 'qwen']], { id: 'j2' })), JobConflictError);
  assert.equal(await s.store.jobs.getJob('j2'), undefined);
});

test('resumed after a coordinator restart: a result stored before is used, an unanswered command is re-sent with its own id, nothing twice', async () => {
  const store = SqliteStore.open(':memory:');
  const first = setup(store);
  first.online('gpu-a');
  await first.scheduler.start();
  await first.scheduler.create(job([['gpu-a', 'llama'], ['gpu-a', 'qwen'], ['gpu-a', 'other']], { maxParallel: 2 }));
  const [llama, qwen] = first.sent;
  // the agent's result for llama reached the event store, then the coordinator died
  const stored = first.result(llama!);
  await store.events.appendEvents('gpu-a', [stored], first.clock.now());
  first.scheduler.stop();

  const clock = new FakeClock(first.clock.now() + 5000);
  const second = setup(store, clock, new FleetTracker(clock, 30_000), 'd');
  await second.scheduler.start();
  let j = second.scheduler.get('j1')!;
  assert.deepEqual(j.targets.map((t) => t.state), ['waiting', 'restarting', 'pending']);
  assert.equal(second.sent.length, 0, 'the agent is not connected yet');
  second.online('gpu-a', ['llama', 'qwen', 'other']);
  await settle(second);
  assert.deepEqual(second.sent.map((c) => c.id), [qwen!.id], 'the unanswered command again, same id (the agent runs it at most once)');
  second.result(qwen!);
  second.healthy('gpu-a', 'llama');
  second.healthy('gpu-a', 'qwen');
  await settle(second);
  const other = second.sent.at(-1)!;
  assert.equal(other.service, 'other');
  second.result(other);
  await second.clock.advance(5);
  second.healthy('gpu-a', 'other');
  await settle(second);
  j = (await store.jobs.getJob('j1'))!;
  assert.equal(j.state, 'succeeded', JSON.stringify(j.targets));
  assert.deepEqual([...first.sent, ...second.sent].map((c) => c.service).sort(), ['llama', 'other', 'qwen', 'qwen']);
  assert.deepEqual(new Set([...first.sent, ...second.sent].map((c) => c.id)).size, 3, 'three command ids for three targets');
});
