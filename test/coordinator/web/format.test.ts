import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../../coordinator/web/backoff.js';
import { matcherText, matchesFilter, relativeTime, silenceMatchers, stateInfo } from '../../../coordinator/web/format.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

test('relative times read like a person would say them', () => {
  const ago = (ms: number) => relativeTime(new Date(NOW - ms).toISOString(), NOW);
  assert.equal(ago(1000), 'just now');
  assert.equal(ago(42_000), '42 s ago');
  assert.equal(ago(2 * 60_000 + 5000), '2 min ago');
  assert.equal(ago(3 * 3_600_000), '3 h ago');
  assert.equal(ago(5 * 86_400_000), '5 d ago');
  assert.equal(ago(-20 * 60_000), 'in 20 min');
  assert.equal(relativeTime(null, NOW), 'never');
});

test('every state has a word and a mark besides its colour', () => {
  for (const s of ['unknown', 'starting', 'healthy', 'degraded', 'unhealthy', 'down', 'restarting', 'gave_up']) {
    const info = stateInfo(s);
    assert.ok(info.word.length > 2 && info.mark.length > 0, s);
  }
  assert.equal(stateInfo('gave_up').word, 'gave up restarting');
  assert.equal(stateInfo('new-state').word, 'new-state', 'a state this page does not know yet still shows its name');
});

test('a silence from an alert matches its identity labels, quoted, never its severity', () => {
  assert.deepEqual(silenceMatchers({ alertname: 'LLMServiceDown', host: 'gpu-a', service: 'qwen "vl"', severity: 'critical', rack: 'r1' }), [
    'alertname="LLMServiceDown"',
    'host="gpu-a"',
    'service="qwen \\"vl\\""',
  ]);
  assert.equal(matcherText({ name: 'host', value: 'gpu-.*', isRegex: true, isEqual: true }), 'host=~"gpu-.*"');
  assert.equal(matcherText({ name: 'host', value: 'a', isRegex: false, isEqual: false }), 'host!="a"');
  assert.equal(matcherText({ name: 'host', value: 'a', isRegex: true, isEqual: false }), 'host!~"a"');
});

test('the filter matches any field, case already lowered by the caller', () => {
  assert.ok(matchesFilter('', 'x'));
  assert.ok(matchesFilter('gpu-b', 'GPU-B'.toLowerCase(), 'qwen'));
  assert.ok(!matchesFilter('down', 'gpu-a', null, undefined, 'healthy'));
});

test('backoff doubles to a ceiling, with at most 20 % taken off', () => {
  assert.equal(backoffDelay(1, 1000, 15_000, () => 0), 1000);
  assert.equal(backoffDelay(3, 1000, 15_000, () => 0), 4000);
  assert.equal(backoffDelay(10, 1000, 15_000, () => 0), 15_000);
  assert.equal(backoffDelay(10, 1000, 15_000, () => 1), 12_000);
});
