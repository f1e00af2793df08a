import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { ActiveAlerts } from '../../../coordinator/alerts/alert-set.js';
import { Dispatcher, needsUpdate, type DispatcherConfig, type MuterFactory } from '../../../coordinator/alerts/dispatcher.js';
import { fingerprint } from '../../../coordinator/alerts/fingerprint.js';
import { InhibitIndex } from '../../../coordinator/alerts/inhibit.js';
import { MAX_SAMPLE_ALERTS, type Alert, type DesiredAlert, type Labels, type Notification, type NotificationLogEntry } from '../../../coordinator/alerts/types.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

const BASE: DispatcherConfig = {
  groupBy: ['alertname', 'service'],
  groupWait: 10 * S,
  groupInterval: MIN,
  repeatInterval: 4 * HOUR,
  receivers: [{ name: 'ops', sendResolved: true }],
  externalUrl: 'http://coord:7700/',
};

function desired(labels: Labels): DesiredAlert {
  return { fingerprint: fingerprint(labels), labels, annotations: { summary: `${labels.service} on ${labels.host} is down`, description: 'crashed' } };
}
const downOf = (host: string, service = 'qwen-vl', alertname = 'LLMServiceDown', severity = 'critical') => desired({ alertname, host, severity, service });

/** A dispatcher fed by an ActiveAlerts, an in-memory notification log, a fake clock. */
function harness(config: Partial<DispatcherConfig> = {}, muter?: MuterFactory) {
  const clock = new FakeClock(T0);
  const log = new Map<string, NotificationLogEntry>();
  const sent: Notification[] = [];
  const logOnly: NotificationLogEntry[] = [];
  let ids = 0;
  let failNext = 0;
  const errors: unknown[] = [];
  const d = new Dispatcher({
    clock,
    config: { ...BASE, ...config },
    getLogEntry: (r, k) => log.get(`${r}|${k}`),
    emit: (n, e) => {
      if (failNext > 0) {
        failNext--;
        throw new Error('database is locked');
      }
      sent.push(n);
      log.set(`${e.receiver}|${e.groupKey}`, e);
    },
    updateLog: (e) => {
      logOnly.push(e);
      log.set(`${e.receiver}|${e.groupKey}`, e);
    },
    ...(muter ? { muter } : {}),
    newId: () => `n${++ids}`,
    onError: (err) => errors.push(err),
  });
  const set = new ActiveAlerts();
  return {
    clock,
    d,
    sent,
    logOnly,
    log,
    errors,
    failNext: (n: number) => (failNext = n),
    /** the desired set is now exactly `list` */
    set: (list: DesiredAlert[]) => d.ingest(set.update(list, clock.now())),
    advance: (ms: number) => clock.advance(ms),
    summary: () => sent.map((n) => `${n.receiver} ${n.status} firing=${n.firingCount} resolved=${n.resolvedCount}`),
  };
}

test('needsUpdate: the Alertmanager DedupStage table, plus log-only when the firing set shrinks', () => {
  const o = { sendResolved: true, repeatInterval: HOUR, now: T0 + MIN };
  const e = (firing: string[], resolved: string[] = [], sentAt = T0): NotificationLogEntry => ({ receiver: 'r', groupKey: 'k', firing, resolved, sentAt });
  assert.equal(needsUpdate(undefined, ['a'], [], o), 'send', 'never sent, something firing');
  assert.equal(needsUpdate(undefined, [], ['a'], o), 'none', 'never sent, only resolved');
  assert.equal(needsUpdate(e(['a']), ['a', 'b'], [], o), 'send', 'new firing fingerprint');
  assert.equal(needsUpdate(e(['a']), ['a'], [], o), 'none', 'same firing set inside repeatInterval');
  assert.equal(needsUpdate(e(['a']), ['a'], [], { ...o, now: T0 + HOUR }), 'send', 'repeatInterval passed');
  assert.equal(needsUpdate(e(['a']), [], ['a'], o), 'send', 'all resolved, sendResolved');
  assert.equal(needsUpdate(e(['a']), [], ['a'], { ...o, sendResolved: false }), 'log', 'all resolved, no sendResolved: log only');
  assert.equal(needsUpdate(e(['a', 'b']), ['b'], ['a'], o), 'send', 'resolved set grew, sendResolved');
  assert.equal(needsUpdate(e(['a', 'b']), ['b'], ['a'], { ...o, sendResolved: false }), 'log', 'firing shrank, nothing to tell');
  assert.equal(needsUpdate(e(['a', 'b']), ['b'], [], { ...o, suppressed: 1 }), 'none', 'a suppressed, still believed firing');
  assert.equal(needsUpdate(e(['a', 'b']), ['a', 'b'], [], o, new Set(['b'])), 'send', 'a is news again (its suppression ended)');
  assert.equal(needsUpdate(e([]), [], [], o), 'none');
});

test('a new group waits groupWait, then flushes every groupInterval; one notification per group', async () => {
  const h = harness();
  h.set([downOf('gpu-a')]);
  await h.advance(9 * S);
  assert.equal(h.sent.length, 0);
  h.set([downOf('gpu-a'), downOf('gpu-b')]); // same group (alertname, service)
  await h.advance(1 * S);
  assert.deepEqual(h.summary(), ['ops firing firing=2 resolved=0']);
  const n = h.sent[0]!;
  assert.equal(n.id, 'n1');
  assert.equal(n.groupKey, 'ops:{"alertname":"LLMServiceDown","service":"qwen-vl"}');
  assert.deepEqual(n.groupLabels, { alertname: 'LLMServiceDown', service: 'qwen-vl' });
  assert.deepEqual(n.commonLabels, { alertname: 'LLMServiceDown', service: 'qwen-vl', severity: 'critical' });
  assert.equal(n.createdAt, new Date(T0 + 10 * S).toISOString());
  assert.equal(n.externalUrl, 'http://coord:7700/');
  assert.deepEqual(n.alerts.map((a) => [a.labels.host, a.status, a.startsAt, a.endsAt]), [
    ['gpu-a', 'firing', new Date(T0).toISOString(), null],
    ['gpu-b', 'firing', new Date(T0 + 9 * S).toISOString(), null],
  ]);
  // a third alert joining the flushed group waits for the next groupInterval
  h.set([downOf('gpu-a'), downOf('gpu-b'), downOf('gpu-c')]);
  await h.advance(MIN - 1);
  assert.equal(h.sent.length, 1);
  await h.advance(1);
  assert.deepEqual(h.summary().at(-1), 'ops firing firing=3 resolved=0');
  // a different service is a different group
  h.set([downOf('gpu-a'), downOf('gpu-b'), downOf('gpu-c'), downOf('gpu-a', 'llama')]);
  await h.advance(10 * S);
  assert.equal(h.sent.at(-1)!.groupKey, 'ops:{"alertname":"LLMServiceDown","service":"llama"}');
});

test('an alert that fires and resolves inside groupWait sends nothing, and its group goes away', async () => {
  const h = harness();
  h.set([downOf('gpu-a')]);
  await h.advance(4 * S);
  h.set([]); // the restart brought it back
  await h.advance(HOUR);
  assert.deepEqual(h.sent, []);
  assert.deepEqual(h.logOnly, []);
  assert.equal(h.d.groupCount, 0);
  assert.equal(h.clock.pendingTimers(), 0);
});

test('resolved: one resolved notification with sendResolved; groups all resolved and notified are removed', async () => {
  const h = harness();
  h.set([downOf('gpu-a'), downOf('gpu-b')]);
  await h.advance(10 * S);
  h.set([downOf('gpu-b')]);
  await h.advance(MIN);
  assert.deepEqual(h.summary(), ['ops firing firing=2 resolved=0', 'ops firing firing=1 resolved=1']);
  const n = h.sent[1]!;
  assert.deepEqual(n.alerts.map((a) => [a.labels.host, a.status]), [
    ['gpu-b', 'firing'],
    ['gpu-a', 'resolved'],
  ]);
  assert.equal(n.alerts[1]!.endsAt, new Date(T0 + 10 * S).toISOString());
  h.set([]);
  await h.advance(MIN);
  assert.deepEqual(h.summary().at(-1), 'ops resolved firing=0 resolved=1');
  assert.equal(h.d.groupCount, 0);
  await h.advance(HOUR);
  assert.equal(h.sent.length, 3);
});

test('sendResolved false: no resolved notifications, the log still learns, so a re-fire pages again', async () => {
  const h = harness({ receivers: [{ name: 'pager', sendResolved: false }] });
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  h.set([]);
  await h.advance(MIN);
  assert.deepEqual(h.summary(), ['pager firing firing=1 resolved=0']);
  assert.deepEqual(h.logOnly.map((e) => e.firing), [[]]);
  assert.equal(h.d.groupCount, 0);
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  assert.deepEqual(h.summary(), ['pager firing firing=1 resolved=0', 'pager firing firing=1 resolved=0']);
});

test('a flapping service sends at most one firing notification per groupInterval', async () => {
  const h = harness();
  const a = downOf('gpu-a');
  // up 10 s, down 15 s, for 10 minutes (each down is a new alert instance)
  for (let t = 0; t < 10 * MIN; t += 5 * S) {
    h.set(t % (25 * S) < 15 * S ? [a] : []);
    await h.advance(5 * S);
  }
  const firing = h.sent.filter((n) => n.firingCount > 0).map((n) => Date.parse(n.createdAt));
  assert.ok(firing.length >= 2, `it does page (${firing.length})`);
  for (let i = 1; i < firing.length; i++) assert.ok(firing[i]! - firing[i - 1]! >= MIN, 'firing notifications at least groupInterval apart');
  assert.ok(h.sent.length <= 2 * 10, `at most one notification per flush (${h.sent.length})`);
  // an alert flapping faster than groupWait never pages at all
  const q = harness();
  for (let t = 0; t < 10 * MIN; t += 4 * S) {
    q.set(t % (12 * S) < 8 * S ? [a] : []);
    await q.advance(4 * S);
  }
  assert.equal(q.sent.length, 0);
});

test('repeatInterval re-sends an unchanged firing group', async () => {
  const h = harness({ repeatInterval: 10 * MIN });
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  await h.advance(9 * MIN);
  assert.equal(h.sent.length, 1);
  await h.advance(MIN);
  assert.equal(h.sent.length, 2, 'sent again once repeatInterval passed, at a group flush');
  assert.deepEqual(h.sent[1]!.alerts.map((a) => a.fingerprint), h.sent[0]!.alerts.map((a) => a.fingerprint));
  await h.advance(9 * MIN);
  assert.equal(h.sent.length, 2);
});

test('the dedup survives a restart: a new dispatcher with the same log does not page again', async () => {
  const h = harness();
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  const clock = new FakeClock(T0 + HOUR);
  const sent: Notification[] = [];
  const d2 = new Dispatcher({ clock, config: BASE, getLogEntry: (r, k) => h.log.get(`${r}|${k}`), emit: (n) => sent.push(n) });
  d2.ingest(new ActiveAlerts().update([downOf('gpu-a')], clock.now()));
  await clock.advance(HOUR);
  assert.deepEqual(sent, []);
  d2.stop();
});

test('receivers: match on any label incl. alertname; one notification per receiver and group', async () => {
  const h = harness({
    groupBy: ['alertname'],
    receivers: [
      { name: 'pager', match: { alertname: 'LLMServiceDown' }, sendResolved: true },
      { name: 'chat', match: { severity: 'warning' }, sendResolved: true },
      { name: 'rack7', match: { rack: 'r7' }, sendResolved: true },
      { name: 'all', sendResolved: true },
    ],
  });
  h.set([downOf('gpu-a'), downOf('gpu-a', 'llama', 'LLMServiceDegraded', 'warning'), desired({ alertname: 'LLMServiceDown', host: 'gpu-z', severity: 'critical', service: 's', rack: 'r7' })]);
  await h.advance(10 * S);
  assert.deepEqual(h.sent.map((n) => `${n.receiver} ${n.groupLabels.alertname} ${n.firingCount}`).sort(), [
    'all LLMServiceDegraded 1',
    'all LLMServiceDown 2',
    'chat LLMServiceDegraded 1',
    'pager LLMServiceDown 2',
    'rack7 LLMServiceDown 1',
  ]);
});

test("groupBy ['...'] groups by all labels: one group per alert", async () => {
  const h = harness({ groupBy: ['...'] });
  h.set([downOf('gpu-a'), downOf('gpu-b')]);
  await h.advance(10 * S);
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.sent[0]!.groupLabels, { alertname: 'LLMServiceDown', host: 'gpu-a', service: 'qwen-vl', severity: 'critical' });
  assert.throws(() => harness({ groupBy: ['...', 'host'] }), /cannot be combined/);
  assert.throws(() => harness({ groupInterval: 0 }), /groupInterval must be a positive/);
  assert.throws(() => harness({ receivers: [{ name: 'x', sendResolved: true }, { name: 'x', sendResolved: true }] }), /duplicate receiver/);
});

test('suppressed alerts are left out and count as not firing; unsuppressed they are news again', async () => {
  let muted = new Set<string>();
  const h = harness({}, () => (a: Alert) => muted.has(a.labels.host!));
  h.set([downOf('gpu-a'), downOf('gpu-b')]);
  muted = new Set(['gpu-b']);
  await h.advance(10 * S);
  assert.deepEqual(h.sent.map((n) => n.alerts.map((a) => a.labels.host)), [['gpu-a']]);
  assert.equal(h.sent[0]!.firingCount, 1);
  muted = new Set(['gpu-a', 'gpu-b']);
  await h.advance(MIN);
  assert.equal(h.sent.length, 1, 'nothing sent: suppression is not resolution');
  await h.advance(MIN);
  assert.equal(h.sent.length, 1);
  muted = new Set();
  await h.advance(MIN);
  assert.deepEqual(h.summary().at(-1), 'ops firing firing=2 resolved=0', 'the suppression ended: both are news');
  assert.deepEqual(h.sent.at(-1)!.alerts.map((a) => a.labels.host).sort(), ['gpu-a', 'gpu-b']);
  await h.advance(MIN);
  assert.equal(h.sent.length, 2, 'and then quiet again');
});

test('an alert announced as firing, then suppressed, is still reported resolved when it resolves', async () => {
  let muted = false;
  const h = harness({}, () => () => muted);
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  muted = true; // e.g. its agent went offline
  await h.advance(MIN);
  h.set([]);
  await h.advance(MIN);
  assert.deepEqual(h.summary(), ['ops firing firing=1 resolved=0', 'ops resolved firing=0 resolved=1']);
  assert.equal(h.d.groupCount, 0);
});

test('a failing emit keeps the group and retries at its next flush', async () => {
  const h = harness();
  h.failNext(1);
  h.set([downOf('gpu-a')]);
  await h.advance(10 * S);
  assert.equal(h.sent.length, 0);
  assert.equal(h.errors.length, 1);
  await h.advance(MIN);
  assert.deepEqual(h.summary(), ['ops firing firing=1 resolved=0']);
});

test('large groups: exact counts, a bounded sample with firing first, truncatedAlerts for the rest', async () => {
  const h = harness({ groupBy: ['alertname'] });
  const list = Array.from({ length: 300 }, (_, i) => downOf(`gpu-${String(i).padStart(3, '0')}`));
  h.set(list);
  await h.advance(10 * S);
  h.set(list.slice(100)); // 100 resolve
  await h.advance(MIN);
  const n = h.sent[1]!;
  assert.equal(n.firingCount, 200);
  assert.equal(n.resolvedCount, 100);
  assert.equal(n.alerts.length, MAX_SAMPLE_ALERTS);
  assert.equal(n.truncatedAlerts, 300 - MAX_SAMPLE_ALERTS);
  assert.ok(n.alerts.every((a) => a.status === 'firing'), 'firing first');
  assert.ok(JSON.stringify(n).length < 64 * 1024, 'bounded size');
});

test('with the inhibition index as muter: a down service keeps its own degraded/slow alerts quiet, not other services\'', async () => {
  const idx = new InhibitIndex();
  const h = harness({ groupBy: ['alertname'] }, () => (a) => idx.inhibitedBy(a).length > 0);
  const list = [downOf('gpu-a', 's'), downOf('gpu-a', 's', 'LLMServiceDegraded', 'warning'), downOf('gpu-a', 's', 'LLMSlowInference', 'warning'), downOf('gpu-a', 't', 'LLMServiceDegraded', 'warning')];
  const set = new ActiveAlerts();
  const changes = set.update(list, h.clock.now());
  for (const c of changes) idx.observe(c);
  h.d.ingest(changes);
  await h.advance(10 * S);
  assert.deepEqual(h.sent.map((n) => `${n.groupLabels.alertname} ${n.alerts.map((a) => a.labels.service).join(',')}`).sort(), ['LLMServiceDegraded t', 'LLMServiceDown s']);
});
