import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FakeClock } from '../../../shared/clock.js';
import { FleetTracker, reduceFleet, EMPTY_FLEET, type FleetState } from '../../../coordinator/fleet/index.js';
import { AlertPipeline, dispatcherConfigFrom } from '../../../coordinator/alerts/pipeline.js';
import type { DispatcherConfig } from '../../../coordinator/alerts/dispatcher.js';
import { parseMatchers } from '../../../coordinator/alerts/matchers.js';
import { MAX_SAMPLE_ALERTS, type Notification, type NotificationLogEntry, type Silence } from '../../../coordinator/alerts/types.js';
import type { EventType, ServiceState } from '../../../shared/protocol/constants.js';
import type { CoordinatorConfig } from '../../../shared/config/coordinator-config.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const LOST = 30 * S;
const iso = (ms: number) => new Date(ms).toISOString();

const CONFIG: DispatcherConfig = {
  groupBy: ['alertname', 'service'],
  groupWait: 10 * S,
  groupInterval: MIN,
  repeatInterval: 4 * HOUR,
  receivers: [{ name: 'ops', sendResolved: true }],
  externalUrl: 'http://coord:7700/',
};

/** A fleet tracker feeding an alert pipeline, an in-memory log/outbox, and a fake clock. */
function setup(config: Partial<DispatcherConfig> = {}) {
  const clock = new FakeClock(T0);
  const tracker = new FleetTracker(clock, LOST);
  const log = new Map<string, NotificationLogEntry>();
  const sent: Notification[] = [];
  let silences: Silence[] = [];
  let ids = 0;
  const pipeline = new AlertPipeline({
    clock,
    config: { ...CONFIG, ...config },
    getLogEntry: (r, k) => log.get(`${r}|${k}`),
    emit: (n, e) => {
      sent.push(n);
      log.set(`${e.receiver}|${e.groupKey}`, e);
    },
    updateLog: (e) => log.set(`${e.receiver}|${e.groupKey}`, e),
    silences: () => silences,
    agentLostAfter: LOST,
    newId: () => `n${++ids}`,
  });
  tracker.subscribe((_input, fleet) => pipeline.update(fleet));
  const seqs = new Map<string, number>();
  const at = () => clock.now();
  const h = {
    clock,
    tracker,
    pipeline,
    sent,
    setSilences: (s: Silence[]) => (silences = s),
    hello(host: string, services: string[], labels: Record<string, string> = { rack: 'r1' }) {
      tracker.apply({ type: 'hello', at: at(), msg: { type: 'hello', v: 1, agentId: host, bootId: 'b1', labels, agentVersion: '0.1.0', services: services.map((name) => ({ name, kind: 'vllm', url: `http://127.0.0.1/${name}` })) } });
      return h;
    },
    snapshot(host: string, states: Record<string, ServiceState | [ServiceState, string]>) {
      tracker.apply({
        type: 'snapshot',
        at: at(),
        agentId: host,
        msg: {
          type: 'snapshot',
          v: 1,
          services: Object.entries(states).map(([name, st]) => {
            const [state, reason] = Array.isArray(st) ? st : [st, st];
            return { name, kind: 'vllm', url: `http://127.0.0.1/${name}`, state, reason, since: iso(at()), lastProbe: null, restarts: { count: 0, lastAt: null, lastOutcome: null } };
          }),
        },
      });
      return h;
    },
    event(host: string, service: string, type: EventType, to?: ServiceState, reason: string = to ?? type) {
      const seq = (seqs.get(host) ?? 0) + 1;
      seqs.set(host, seq);
      tracker.apply({ type: 'event', at: at(), event: { agentId: host, bootId: 'b1', seq, at: iso(at()), type, service, ...(to ? { to } : {}), reason } });
      return h;
    },
    to: (host: string, service: string, state: ServiceState, reason?: string) => h.event(host, service, 'state_changed', state, reason),
    /** moves time, with a periodic tick every second: the tracker's sweep and a pipeline update */
    async tick(ms: number) {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        await clock.advance(Math.min(S, end - clock.now()));
        tracker.sweep();
        pipeline.update(tracker.state);
      }
    },
    /** heartbeats from every connected host, so they stay online while time passes */
    heartbeat() {
      for (const host of tracker.state.hosts.values()) if (host.connected) tracker.apply({ type: 'seen', at: at(), agentId: host.id });
    },
    async live(ms: number) {
      for (let t = 0; t < ms; t += 10 * S) {
        h.heartbeat();
        await h.tick(Math.min(10 * S, ms - t));
      }
    },
    summary: () => sent.map((n) => `${n.receiver} ${n.status} ${n.groupLabels.alertname}${n.groupLabels.service ? `/${n.groupLabels.service}` : ''} firing=${n.firingCount} resolved=${n.resolvedCount}`),
  };
  return h;
}

function silence(id: string, matchers: string[], startsAt: number, endsAt: number): Silence {
  return { id, matchers: parseMatchers(matchers), startsAt, endsAt, createdBy: 'ops', comment: 'maintenance', createdAt: T0, updatedAt: T0 };
}

test('a restart that brings the service back inside groupWait pages no one; a real outage pages once', async () => {
  const h = setup().hello('gpu-b', ['qwen-vl']).snapshot('gpu-b', { 'qwen-vl': 'healthy' });
  await h.tick(S);
  h.to('gpu-b', 'qwen-vl', 'down', 'connection refused, unit failed');
  await h.tick(S);
  h.event('gpu-b', 'qwen-vl', 'restart_started').to('gpu-b', 'qwen-vl', 'restarting');
  await h.tick(2 * S);
  h.event('gpu-b', 'qwen-vl', 'restart_succeeded').to('gpu-b', 'qwen-vl', 'starting', 'loading model');
  await h.tick(4 * S);
  h.to('gpu-b', 'qwen-vl', 'healthy', 'ready');
  await h.live(10 * MIN);
  assert.equal(h.sent.length, 0);

  h.to('gpu-b', 'qwen-vl', 'down', 'connection refused, unit failed');
  await h.live(15 * S);
  assert.deepEqual(h.summary(), ['ops firing LLMServiceDown/qwen-vl firing=1 resolved=0']);
  const a = h.sent[0]!.alerts[0]!;
  assert.deepEqual(a.labels, { rack: 'r1', alertname: 'LLMServiceDown', host: 'gpu-b', severity: 'critical', service: 'qwen-vl' });
  assert.equal(a.annotations.summary, 'qwen-vl on gpu-b is down');
  await h.live(2 * HOUR);
  assert.equal(h.sent.length, 1, 'no repeats inside repeatInterval');
  h.pipeline.stop();
});

test('1,000 services on 250 hosts down within 2 s, groupBy [alertname]: one firing notification per receiver, then one resolved', async () => {
  const h = setup({
    groupBy: ['alertname'],
    receivers: [
      { name: 'pager', match: { severity: 'critical' }, sendResolved: true },
      { name: 'chat', sendResolved: true },
    ],
  });
  const services = ['a', 'b', 'c', 'd'];
  const hosts = Array.from({ length: 250 }, (_, i) => `gpu-${String(i).padStart(3, '0')}`);
  for (const host of hosts) h.hello(host, services).snapshot(host, Object.fromEntries(services.map((s) => [s, 'healthy'])));
  await h.tick(S);
  const evals0 = h.pipeline.stats().evaluations;
  for (let i = 0; i < 1000; i++) {
    h.to(hosts[i >> 2]!, services[i & 3]!, 'down', 'connection refused');
    await h.clock.advance(2); // 1,000 events over 2 s
  }
  const burstEvaluations = h.pipeline.stats().evaluations - evals0;
  assert.ok(burstEvaluations <= 21, `1,000 changes in 2 s, coalesced to ${burstEvaluations} evaluations`);
  await h.live(MIN - 2 * S);
  assert.deepEqual(h.summary().sort(), ['chat firing LLMServiceDown firing=1000 resolved=0', 'pager firing LLMServiceDown firing=1000 resolved=0']);
  for (const n of h.sent) {
    assert.equal(n.alerts.length, MAX_SAMPLE_ALERTS);
    assert.equal(n.truncatedAlerts, 1000 - MAX_SAMPLE_ALERTS);
    assert.deepEqual(n.commonLabels, { alertname: 'LLMServiceDown', rack: 'r1', severity: 'critical' });
  }
  for (let i = 0; i < 1000; i++) {
    h.to(hosts[i >> 2]!, services[i & 3]!, 'healthy', 'ready');
    await h.clock.advance(2);
  }
  await h.live(2 * MIN);
  assert.deepEqual(h.summary().slice(2).sort(), ['chat resolved LLMServiceDown firing=0 resolved=1000', 'pager resolved LLMServiceDown firing=0 resolved=1000']);
  assert.equal(h.pipeline.stats().groups, 0);
  await h.live(5 * MIN);
  assert.equal(h.sent.length, 4);
  h.pipeline.stop();
});

test('a silence suppresses; once it expires the alert still firing is sent; alerts() shows why', async () => {
  const h = setup().hello('gpu-a', ['qwen-vl', 'llama']).snapshot('gpu-a', { 'qwen-vl': 'healthy', llama: 'healthy' });
  h.setSilences([silence('sil-1', ['service=qwen-vl'], T0, T0 + 30 * MIN), silence('sil-2', ['host=~gpu-.*', 'alertname="LLMServiceDown"', 'service="qwen-vl"'], T0, T0 + 10 * MIN)]);
  h.to('gpu-a', 'qwen-vl', 'down', 'crashed');
  await h.live(20 * MIN);
  assert.equal(h.sent.length, 0);
  const [v] = h.pipeline.alerts();
  assert.equal(v!.state, 'suppressed');
  assert.deepEqual(v!.suppressedBy, [{ kind: 'silenced', silenceIds: ['sil-1'] }], 'sil-2 expired already');
  assert.equal(v!.alert.labels.alertname, 'LLMServiceDown');
  assert.ok(v!.alert.startsAt >= T0 && v!.alert.startsAt <= T0 + 100, 'first seen (within one coalescing window)');
  assert.deepEqual([...h.pipeline.counts()], [['LLMServiceDown', { firing: 0, suppressed: 1 }]]);
  await h.live(10 * MIN + MIN);
  assert.deepEqual(h.summary(), ['ops firing LLMServiceDown/qwen-vl firing=1 resolved=0']);
  assert.ok(Date.parse(h.sent[0]!.createdAt) >= T0 + 30 * MIN && Date.parse(h.sent[0]!.createdAt) <= T0 + 31 * MIN);
  assert.equal(h.pipeline.alerts()[0]!.state, 'firing');
  h.pipeline.stop();
});

test('a future silence is a maintenance window: it starts suppressing at its start and stops at its end', async () => {
  const h = setup().hello('gpu-a', ['x', 'y']).snapshot('gpu-a', { x: 'healthy', y: 'healthy' });
  h.setSilences([silence('mw', ['host=gpu-a'], T0 + 10 * MIN, T0 + 20 * MIN)]);
  await h.live(MIN);
  h.to('gpu-a', 'x', 'down');
  await h.live(MIN);
  assert.deepEqual(h.summary(), ['ops firing LLMServiceDown/x firing=1 resolved=0'], 'before the window: paged');
  await h.live(10 * MIN);
  h.to('gpu-a', 'y', 'down');
  await h.live(5 * MIN);
  assert.equal(h.sent.length, 1, 'inside the window: not paged');
  assert.deepEqual(
    h.pipeline.alerts().map((v) => [v.alert.labels.service, v.state]),
    [
      ['x', 'suppressed'],
      ['y', 'suppressed'],
    ],
  );
  await h.live(5 * MIN);
  const after = h.summary().slice(1).sort();
  assert.deepEqual(after, ['ops firing LLMServiceDown/x firing=1 resolved=0', 'ops firing LLMServiceDown/y firing=1 resolved=0'], 'after the window: both still down, both news');
  h.pipeline.stop();
});

test('agent offline: only LLMAgentOffline pages; its service alerts are frozen and inhibited, nothing resolves; on return they resolve', async () => {
  const h = setup().hello('gpu-a', ['s', 't']).snapshot('gpu-a', { s: 'healthy', t: 'healthy' }).hello('gpu-b', ['s']).snapshot('gpu-b', { s: 'healthy' });
  h.to('gpu-a', 's', 'down', 'crashed').to('gpu-a', 't', 'degraded', 'busy');
  await h.live(20 * S);
  assert.deepEqual(h.summary().sort(), ['ops firing LLMServiceDegraded/t firing=1 resolved=0', 'ops firing LLMServiceDown/s firing=1 resolved=0']);

  h.tracker.apply({ type: 'disconnected', at: h.clock.now(), agentId: 'gpu-a' });
  await h.live(10 * MIN);
  assert.deepEqual(h.summary().slice(2), ['ops firing LLMAgentOffline firing=1 resolved=0']);
  const offline = h.pipeline.alerts().find((v) => v.alert.labels.alertname === 'LLMAgentOffline')!;
  assert.equal(offline.state, 'firing');
  const frozen = h.pipeline
    .alerts()
    .filter((v) => v.alert.labels.alertname !== 'LLMAgentOffline')
    .sort((a, b) => (a.alert.labels.alertname! < b.alert.labels.alertname! ? 1 : -1));
  assert.deepEqual(
    frozen.map((v) => [v.alert.labels.alertname, v.state, v.alert.endsAt, v.suppressedBy]),
    [
      ['LLMServiceDown', 'suppressed', null, [{ kind: 'inhibited', by: [offline.alert.fingerprint] }]],
      ['LLMServiceDegraded', 'suppressed', null, [{ kind: 'inhibited', by: [offline.alert.fingerprint] }]],
    ],
  );

  // back, everything healthy: the receiver hears each of them resolve
  h.hello('gpu-a', ['s', 't']).snapshot('gpu-a', { s: 'healthy', t: 'healthy' });
  await h.live(2 * MIN);
  assert.deepEqual(h.summary().slice(3).sort(), ['ops resolved LLMAgentOffline firing=0 resolved=1', 'ops resolved LLMServiceDegraded/t firing=0 resolved=1', 'ops resolved LLMServiceDown/s firing=0 resolved=1']);
  assert.deepEqual(h.pipeline.alerts(), []);
  assert.equal(h.pipeline.alerts({ resolved: true }).length, 3);
  h.pipeline.stop();
});

test('receivers: match on alertname, severity and agent labels route the same alerts differently', async () => {
  const h = setup({
    groupBy: ['alertname'],
    receivers: [
      { name: 'pager', match: { alertname: 'LLMServiceDown' }, sendResolved: false },
      { name: 'gpu-team', match: { alertname: 'LLMGpuUnhealthy', rack: 'r9' }, sendResolved: true },
      { name: 'chat', match: { severity: 'warning' }, sendResolved: true },
    ],
  });
  h.hello('gpu-a', ['s'], { rack: 'r9' }).snapshot('gpu-a', { s: 'healthy' });
  h.tracker.apply({ type: 'gpu', at: h.clock.now(), agentId: 'gpu-a', msg: { type: 'gpu', v: 1, gpus: [{ index: 3, warnings: ['uncorrected ECC errors: 2'] }] } });
  h.to('gpu-a', 's', 'down');
  await h.live(20 * S);
  assert.deepEqual(h.sent.map((n) => `${n.receiver} ${n.groupLabels.alertname}`).sort(), ['chat LLMGpuUnhealthy', 'gpu-team LLMGpuUnhealthy', 'pager LLMServiceDown']);
  const gpu = h.sent.find((n) => n.receiver === 'gpu-team')!.alerts[0]!;
  assert.equal(gpu.labels.gpu, '3');
  assert.equal(gpu.annotations.description, 'uncorrected ECC errors: 2');
  h.pipeline.stop();
});

test('update() is coalesced: at most one evaluation per 100 ms, always of the latest state', async () => {
  const h = setup().hello('gpu-a', ['s']).snapshot('gpu-a', { s: 'healthy' });
  await h.tick(S);
  const e0 = h.pipeline.stats().evaluations;
  for (let i = 0; i < 500; i++) {
    h.tracker.apply({ type: 'seen', at: h.clock.now(), agentId: 'gpu-a' });
    if (i === 499) h.to('gpu-a', 's', 'down');
    await h.clock.advance(i % 10 === 0 ? 1 : 0);
  }
  assert.ok(h.pipeline.stats().evaluations - e0 <= 2, `evaluations: ${h.pipeline.stats().evaluations - e0}`);
  await h.clock.advance(100);
  assert.equal(h.pipeline.stats().firing, 1, 'the last state was evaluated');
  h.pipeline.stop();
  assert.equal(h.clock.pendingTimers(), 0, 'stop() leaves no timer behind');
});

test('dispatcherConfigFrom: alerts + notify from the coordinator YAML; sendResolved defaults to alerts.sendResolved', () => {
  const cfg: Pick<CoordinatorConfig, 'alerts' | 'notify'> = {
    alerts: { groupBy: ['alertname', 'service'], groupWait: 10_000, groupInterval: 60_000, repeatInterval: 4 * HOUR, sendResolved: true, resolvedRetention: 15 * 60_000 },
    notify: [
      { name: 'ops-slack', type: 'slack', url: 'https://hooks.slack.invalid/x', match: { severity: 'critical' }, timeout: 10_000 },
      { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9000/hook', match: {}, sendResolved: false, timeout: 10_000 },
    ],
  };
  assert.deepEqual(dispatcherConfigFrom(cfg, 'http://coord/'), {
    groupBy: ['alertname', 'service'],
    groupWait: 10_000,
    groupInterval: 60_000,
    repeatInterval: 4 * HOUR,
    receivers: [
      { name: 'ops-slack', match: { severity: 'critical' }, sendResolved: true },
      { name: 'hook', match: {}, sendResolved: false },
    ],
    externalUrl: 'http://coord/',
  });
});

test('scale: 100,000 alerts in one group flush once; memory per alert printed', async () => {
  let gc = (): void => undefined;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    // without gc() the memory figure is rougher; it is printed, not asserted
  }
  const HOSTS = 1000;
  const PER_HOST = 100;
  const services = Array.from({ length: PER_HOST }, (_, i) => `svc-${i}`);
  let fleet: FleetState = EMPTY_FLEET;
  for (let i = 0; i < HOSTS; i++) {
    const host = `gpu-${String(i).padStart(4, '0')}`;
    fleet = reduceFleet(fleet, { type: 'hello', at: T0, msg: { type: 'hello', v: 1, agentId: host, bootId: 'b1', labels: { rack: `r${i % 40}`, zone: 'eu-1' }, agentVersion: '0.1.0', services: services.map((name) => ({ name, kind: 'vllm', url: `http://127.0.0.1/${name}` })) } });
    fleet = reduceFleet(fleet, {
      type: 'snapshot',
      at: T0,
      agentId: host,
      msg: { type: 'snapshot', v: 1, services: services.map((name) => ({ name, kind: 'vllm', url: `http://127.0.0.1/${name}`, state: 'down' as const, reason: 'connection refused', since: iso(T0), lastProbe: null, restarts: { count: 0, lastAt: null, lastOutcome: null } })) },
    });
  }
  const clock = new FakeClock(T0);
  const sent: Notification[] = [];
  let logEntry: NotificationLogEntry | undefined;
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const pipeline = new AlertPipeline({
    clock,
    config: { ...CONFIG, groupBy: ['alertname'], receivers: [{ name: 'ops', sendResolved: true }] },
    getLogEntry: () => logEntry,
    emit: (n, e) => {
      sent.push(n);
      logEntry = e;
    },
    silences: () => [silence('other', ['host=gpu-none'], T0, T0 + HOUR)],
    agentLostAfter: HOUR,
  });
  let t = performance.now();
  pipeline.update(fleet);
  const evalMs = performance.now() - t;
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  t = performance.now();
  await clock.advance(10 * S);
  const flushMs = performance.now() - t;
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.firingCount, HOSTS * PER_HOST);
  assert.equal(sent[0]!.alerts.length, MAX_SAMPLE_ALERTS);
  assert.ok(JSON.stringify(sent[0]).length < 64 * 1024);
  // an unchanged fleet (heartbeats only) re-evaluates cheaply
  t = performance.now();
  fleet = reduceFleet(fleet, { type: 'seen', at: T0 + 10 * S, agentId: 'gpu-0000' });
  pipeline.update(fleet);
  const reevalMs = performance.now() - t;
  t = performance.now();
  await clock.advance(MIN);
  const quietFlushMs = performance.now() - t;
  assert.equal(sent.length, 1);
  const perAlert = (heap1 - heap0) / (HOSTS * PER_HOST);
  console.log(
    `scale: ${HOSTS * PER_HOST} alerts, one group: first evaluation ${evalMs.toFixed(0)} ms, first flush ${flushMs.toFixed(0)} ms, ` +
      `unchanged re-evaluation ${reevalMs.toFixed(1)} ms, quiet flush ${quietFlushMs.toFixed(0)} ms, ~${perAlert.toFixed(0)} bytes of heap per alert (rules memory + alert set + group)`,
  );
  pipeline.stop();
});
