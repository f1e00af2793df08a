import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matches, matchOne, parseMatchers } from '../../../coordinator/alerts/matchers.js';
import { silencedBy } from '../../../coordinator/alerts/silences.js';
import type { Matcher, Silence } from '../../../coordinator/alerts/types.js';

/**
 * The RE2 side of matchers: the patterns that made JavaScript's backtracking engine spin
 * for years on one label value, and stored patterns that RE2 does not accept.
 */

const T0 = Date.UTC(2026, 0, 1);
/**
 * The 40-character attack itself runs against a coordinator process
 * (test/coordinator/http/regex-attack.test.ts), where a regression fails on a deadline:
 * here, in the test's own thread, it would hang the run. These values are short enough
 * for any engine and check what RE2 answers.
 */
const HOST = 'gpu-a';
const STARS = '.*'.repeat(18);

function stored(id: string, matchers: Matcher[]): Silence {
  return { id, matchers, startsAt: T0, endsAt: T0 + 3_600_000, createdBy: 'ops', comment: 'written by an older version', createdAt: T0, updatedAt: T0 };
}

test('`.*` 18 times and nested repetitions give the answers Alertmanager gives', () => {
  const labels = { alertname: 'LLMServiceDown', host: HOST };
  assert.equal(matches(parseMatchers([`host=~${STARS}-maint`]), labels), false);
  assert.equal(matches(parseMatchers([`host=~${STARS}a`]), labels), true);
  assert.equal(matches(parseMatchers([`host!~${STARS}-maint`]), labels), true);
  assert.equal(matches(parseMatchers(['host=~(a+)+b']), { host: 'aaaa' }), false);
  assert.equal(matches(parseMatchers(['host=~(a|aa)*']), { host: 'aaaa' }), true);
  assert.equal(matches(parseMatchers(['host=~(.*-){2}a']), { host: 'gpu-x-a' }), true);
});

test('anchoring is on the whole pattern: a `)` cannot break out of it', () => {
  assert.throws(() => parseMatchers(['host=~a)|(b']), /not valid RE2 syntax/);
  assert.equal(matches(parseMatchers(['host=~gpu|cpu']), { host: 'xgpu' }), false);
  assert.equal(matches(parseMatchers(['host=~gpu.*|cpu']), { host: 'gpu-a' }), true);
});

test('a stored regex RE2 does not accept matches nothing, with either operator, and never throws', () => {
  const lookahead: Matcher = { name: 'host', value: `(?=gpu)${STARS}`, isRegex: true, isEqual: true };
  const jsEscape: Matcher = { name: 'host', value: '\\u0067pu-.*', isRegex: true, isEqual: false };
  assert.equal(matchOne(lookahead, HOST), false);
  assert.equal(matchOne(jsEscape, 'cpu'), false, '!~ with a broken regex does not match either: the silence would mute too much');
  const silences = [stored('broken', [{ name: 'alertname', value: 'LLMServiceDown', isRegex: false, isEqual: true }, lookahead]), stored('negated', [jsEscape])];
  assert.deepEqual(silencedBy({ labels: { alertname: 'LLMServiceDown', host: HOST } }, silences, T0), []);
});
