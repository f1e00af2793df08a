import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryBucket, Incident } from '../../../coordinator/web/api.js';
import { classifyBucket, durationText, heartbeat, heartbeatSummary, latencySeed, mergeIncidents, minuteDetail, uptimeText } from '../../../coordinator/web/history-format.js';

const NOW = Date.parse('2026-03-01T12:00:30Z');
const MIN = 60_000;

function bucket(minutesAgo: number, fields: Partial<HistoryBucket> = {}): HistoryBucket {
  const at = new Date(Math.floor(NOW / MIN) * MIN - minutesAgo * MIN).toISOString();
  return { at, probes: 60, failures: 0, latencyMs: { p50: 25, p95: 50, max: 12 }, stateSeconds: { healthy: 60 }, ...fields };
}

test('uptime reads as a percentage that never rounds a failure up to 100', () => {
  assert.equal(uptimeText(100), '100 %');
  assert.equal(uptimeText(99.999), '99.99 %');
  assert.equal(uptimeText(99.861), '99.86 %');
  assert.equal(uptimeText(0), '0.00 %');
  assert.equal(uptimeText(null), 'no data');
});

test('a minute is not up when any time went to a failed state, with failures when a probe failed while up', () => {
  assert.deepEqual(classifyBucket(bucket(0)), { kind: 'ok', worst: 'healthy' });
  assert.deepEqual(classifyBucket(bucket(0, { failures: 2 })), { kind: 'failures', worst: 'healthy' });
  assert.deepEqual(classifyBucket(bucket(0, { failures: 3, stateSeconds: { healthy: 40, down: 15, restarting: 5 } })), { kind: 'down', worst: 'down' });
  assert.deepEqual(classifyBucket(bucket(0, { stateSeconds: { degraded: 60 } })), { kind: 'ok', worst: 'degraded' });
  assert.deepEqual(classifyBucket(bucket(0, { probes: 0, stateSeconds: { unknown: 60 } })), { kind: 'none', worst: null }, 'an offline agent: not observed');
  assert.deepEqual(classifyBucket(undefined), { kind: 'none', worst: null });
});

test('the heartbeat is the last N minutes up to now, oldest first, gaps as no data', () => {
  const minutes = heartbeat([bucket(5), bucket(2, { failures: 1 }), bucket(1, { stateSeconds: { healthy: 30, unhealthy: 30 } }), bucket(0)], NOW, 6);
  assert.deepEqual(minutes.map((m) => m.kind), ['ok', 'none', 'none', 'failures', 'down', 'ok']);
  assert.equal(minutes[5]!.minute, Date.parse('2026-03-01T12:00:00Z'));
  assert.equal(heartbeatSummary(minutes), 'last 6 min: 2 ok, 1 with failures, 1 not up, 2 no data');
  assert.equal(heartbeatSummary(heartbeat([], NOW, 60)), 'last 60 min: 60 no data');
});

test('a clock a little behind the coordinator still ends the bar at the minute in progress', () => {
  const minutes = heartbeat([bucket(0)], NOW - 2 * MIN, 3);
  assert.deepEqual(minutes.map((m) => m.kind), ['none', 'none', 'ok']);
});

test('a minute\'s detail says its probes and worst state in words', () => {
  const [m] = heartbeat([bucket(0, { probes: 60, failures: 2, stateSeconds: { healthy: 50, gave_up: 10 } })], NOW, 1);
  assert.equal(minuteDetail(m!), '60 probes, 2 failed; worst state gave up');
  assert.equal(minuteDetail(heartbeat([], NOW, 1)[0]!), 'no data');
});

test('the sparkline seed is the slowest probe of each recent minute', () => {
  assert.deepEqual(latencySeed([bucket(3, { latencyMs: { p50: 25, p95: 25, max: 3 } }), bucket(2, { latencyMs: { p50: null, p95: null, max: null } }), bucket(1, { latencyMs: { p50: 25, p95: 25, max: 7.5 } })], 40), [3, 7.5]);
  assert.deepEqual(latencySeed([bucket(2), bucket(1), bucket(0)], 2).length, 2);
});

test('durations read short', () => {
  assert.equal(durationText(42), '42 s');
  assert.equal(durationText(300), '5 min');
  assert.equal(durationText(3900), '1 h 5 min');
  assert.equal(durationText(7200), '2 h');
  assert.equal(durationText(2 * 86_400 + 3 * 3600), '2 d 3 h');
});

test('incidents merge by their start: a newer answer ends an ongoing one; old ones leave', () => {
  const open: Incident = { startedAt: '2026-03-01T11:50:00.000Z', endedAt: null, durationSeconds: 60, worst: 'down', restarts: 0 };
  const ended: Incident = { ...open, endedAt: '2026-03-01T11:52:00.000Z', durationSeconds: 120, restarts: 1 };
  const old: Incident = { startedAt: '2026-02-27T10:00:00.000Z', endedAt: '2026-02-27T10:05:00.000Z', durationSeconds: 300, worst: 'unhealthy', restarts: 0 };
  const newer: Incident = { startedAt: '2026-03-01T11:58:00.000Z', endedAt: null, durationSeconds: 30, worst: 'restarting', restarts: 1 };
  assert.deepEqual(mergeIncidents([old, open], [ended, newer], NOW - 86_400_000), [newer, ended]);
});
