import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveAlerts } from '../../../coordinator/alerts/alert-set.js';
import { fingerprint } from '../../../coordinator/alerts/fingerprint.js';
import { InhibitIndex, inhibitions } from '../../../coordinator/alerts/inhibit.js';
import { formatMatcher, matches, matchersFromMap, MatcherError, MAX_MATCHER_REGEX_LENGTH, parseMatcher, parseMatchers, validateMatcher } from '../../../coordinator/alerts/matchers.js';
import { activeSilences, nextSilenceChange, silencedBy, silenceState } from '../../../coordinator/alerts/silences.js';
import type { Alert, DesiredAlert, Labels, Silence } from '../../../coordinator/alerts/types.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function desired(labels: Labels, description = 'reason'): DesiredAlert {
  return { fingerprint: fingerprint(labels), labels, annotations: { summary: `${labels.alertname} ${labels.host}`, description } };
}
function alert(labels: Labels, endsAt: number | null = null): Alert {
  return { ...desired(labels), startsAt: T0, endsAt, updatedAt: T0 };
}
function silence(id: string, matchers: string[], startsAt: number, endsAt: number): Silence {
  return { id, matchers: parseMatchers(matchers), startsAt, endsAt, createdBy: 'ops', comment: 'test', createdAt: T0, updatedAt: T0 };
}

const down = { alertname: 'LLMServiceDown', host: 'gpu-a', severity: 'critical', service: 'qwen-vl', rack: 'r1' };

// ------------------------------------------------------------------ matchers

test('matchers: the four operators, quoted values, absent labels match as ""', () => {
  assert.deepEqual(parseMatcher('service=qwen-vl'), { name: 'service', value: 'qwen-vl', isRegex: false, isEqual: true });
  assert.deepEqual(parseMatcher('service != qwen-vl'), { name: 'service', value: 'qwen-vl', isRegex: false, isEqual: false });
  assert.deepEqual(parseMatcher('host=~"gpu-.*"'), { name: 'host', value: 'gpu-.*', isRegex: true, isEqual: true });
  assert.deepEqual(parseMatcher('host!~gpu-[ab]'), { name: 'host', value: 'gpu-[ab]', isRegex: true, isEqual: false });
  assert.deepEqual(parseMatcher('comment="a \\"b\\", c"').value, 'a "b", c');
  assert.equal(formatMatcher(parseMatcher('host=~gpu-.*')), 'host=~"gpu-.*"');

  assert.ok(matches(parseMatchers(['alertname=LLMServiceDown', 'host=~gpu-.*', 'severity!=warning', 'rack!~r[2-9]']), down));
  assert.ok(!matches(parseMatchers(['host=~gpu-b']), down));
  assert.ok(matches(parseMatchers(['team=']), down), 'name="" matches an absent label');
  assert.ok(!matches(parseMatchers(['rack=']), down));
  assert.ok(matches(parseMatchers(['team!~.+']), down));
  assert.ok(matches([], down), 'no matchers match everything');
  assert.deepEqual(parseMatchers('{alertname="LLMServiceDown", host=~"gpu-a,gpu-b"}').map(formatMatcher), ['alertname="LLMServiceDown"', 'host=~"gpu-a,gpu-b"']);
});

test('matchers: regexes are anchored like Alertmanager (^(?:re)$)', () => {
  assert.ok(!matches(parseMatchers(['service=~qwen']), down), 'qwen does not match qwen-vl');
  assert.ok(matches(parseMatchers(['service=~qwen.*']), down));
  assert.ok(matches(parseMatchers(['service=~qwen-vl|llama']), down), 'alternation is anchored as a whole');
  assert.ok(!matches(parseMatchers(['service=~x|qwen']), down));
});

test('matchers: validation refuses bad names, regexes RE2 cannot run, overlong values', () => {
  const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof MatcherError && e.code === 'LLMH_MATCHER_INVALID' && re.test(e.message));
  bad(() => parseMatcher('no operator'), /expected name=value/);
  bad(() => parseMatcher('1abc=x'), /invalid label name/);
  bad(() => parseMatcher('host=~gpu-('), /regex matcher host=~"gpu-\(": not valid RE2 syntax/);
  bad(() => parseMatcher(`host=~${'a'.repeat(MAX_MATCHER_REGEX_LENGTH + 1)}`), /too long/);
  bad(() => parseMatcher('host=~(a)\\1'), /backreferences/);
  bad(() => parseMatcher('host=~(?<n>a)\\k<n>'), /backreferences/);
  bad(() => parseMatcher('host=~(?=a)a'), /lookaround/);
  bad(() => parseMatcher('host=~(?<=a)b'), /lookaround/);
  bad(() => parseMatcher('host=~a)|(b'), /not valid RE2 syntax: unexpected \)/);
  bad(() => validateMatcher({ name: 'x', value: 1 } as never), /a matcher is/);
  bad(() => matchersFromMap({ 'bad name': 'x' }), /invalid label name/);
  // fine: common shapes
  for (const ok of ['host=~gpu-[0-9]+', 'service=~(qwen|llama)-.*', 'host=~(gpu-a)?', 'x=~[(]+', 'x=~\\(a+\\)+', 'x=~(a+)+', 'x=~(a|aa)*', 'x=~[[:alpha:]]+', 'x=~(?i)GPU-.*', 'x=~\\d{1,3}']) assert.doesNotThrow(() => parseMatcher(ok), ok);
});

// ------------------------------------------------------------------ silences

test('silences: active on [startsAt, endsAt); a future start is a maintenance window', () => {
  const s = [silence('past', ['host=gpu-a'], T0 - 20 * MIN, T0 - 10 * MIN), silence('now', ['host=gpu-a'], T0 - MIN, T0 + MIN), silence('later', ['host=gpu-a'], T0 + 10 * MIN, T0 + 20 * MIN)];
  assert.deepEqual(
    activeSilences(s, T0).map((x) => x.id),
    ['now'],
  );
  assert.deepEqual(s.map((x) => silenceState(x, T0)), ['expired', 'active', 'pending']);
  assert.deepEqual(silencedBy(alert(down), s, T0), ['now']);
  assert.deepEqual(silencedBy(alert(down), s, T0 + MIN), [], 'endsAt is exclusive');
  assert.deepEqual(silencedBy(alert(down), s, T0 + 10 * MIN), ['later'], 'startsAt is inclusive');
  assert.equal(nextSilenceChange(s, T0), T0 + MIN);
});

test('silences: all matchers must match; several silences give sorted ids', () => {
  const s = [silence('b', ['service=qwen-vl', 'host=gpu-a'], T0, T0 + MIN), silence('a', ['alertname=~LLM.*'], T0, T0 + MIN), silence('c', ['service=qwen-vl', 'host=gpu-b'], T0, T0 + MIN)];
  assert.deepEqual(silencedBy(alert(down), s, T0), ['a', 'b']);
});

// ------------------------------------------------------------------ inhibition

test('inhibition: LLMAgentOffline for host H inhibits every other alert of H, nothing elsewhere, not itself', () => {
  const offline = alert({ alertname: 'LLMAgentOffline', host: 'gpu-a', severity: 'critical' });
  const svcDown = alert(down);
  const gpu = alert({ alertname: 'LLMGpuUnhealthy', host: 'gpu-a', severity: 'warning', gpu: '0' });
  const other = alert({ ...down, host: 'gpu-b' });
  const idx = new InhibitIndex();
  for (const a of [offline, svcDown, gpu, other]) idx.observe(a);
  assert.deepEqual(idx.inhibitedBy(svcDown), [offline.fingerprint]);
  assert.deepEqual(idx.inhibitedBy(gpu), [offline.fingerprint]);
  assert.deepEqual(idx.inhibitedBy(offline), []);
  assert.deepEqual(idx.inhibitedBy(other), []);
  // only firing alerts inhibit
  idx.observe({ ...offline, endsAt: T0 + 1 });
  assert.deepEqual(idx.inhibitedBy(svcDown), []);
  assert.equal(idx.sources, 2, 'the two LLMServiceDown alerts remain sources');
});

test('inhibition: LLMServiceDown inhibits LLMServiceDegraded and LLMSlowInference of the same (host, service) only', () => {
  const svcDown = alert(down);
  const degraded = alert({ ...down, alertname: 'LLMServiceDegraded', severity: 'warning' });
  const slow = alert({ ...down, alertname: 'LLMSlowInference', severity: 'warning' });
  const restartFailed = alert({ ...down, alertname: 'LLMRestartFailed' });
  const otherService = alert({ ...down, alertname: 'LLMServiceDegraded', severity: 'warning', service: 'llama' });
  const otherHost = alert({ ...down, alertname: 'LLMSlowInference', severity: 'warning', host: 'gpu-b' });
  const map = inhibitions([svcDown, degraded, slow, restartFailed, otherService, otherHost]);
  assert.deepEqual(
    new Map(map),
    new Map([
      [degraded.fingerprint, [svcDown.fingerprint]],
      [slow.fingerprint, [svcDown.fingerprint]],
    ]),
  );
  // a resolved down inhibits nothing
  assert.equal(inhibitions([{ ...svcDown, endsAt: T0 }, degraded]).size, 0);
});

// ------------------------------------------------------------------ alert set

test('ActiveAlerts: startsAt is first seen, annotation changes bump updatedAt, resolve sets endsAt', () => {
  const set = new ActiveAlerts();
  const d1 = desired(down, 'crashed');
  const [a1, ...rest] = set.update([d1], T0);
  assert.equal(rest.length, 0);
  assert.deepEqual({ s: a1!.startsAt, e: a1!.endsAt, u: a1!.updatedAt }, { s: T0, e: null, u: T0 });
  assert.deepEqual(set.update([d1], T0 + 1000), [], 'nothing changed');
  const [a2] = set.update([desired(down, 'restarting')], T0 + 2000);
  assert.deepEqual({ s: a2!.startsAt, e: a2!.endsAt, u: a2!.updatedAt, d: a2!.annotations.description }, { s: T0, e: null, u: T0 + 2000, d: 'restarting' });
  const [a3] = set.update([], T0 + 3000);
  assert.deepEqual({ s: a3!.startsAt, e: a3!.endsAt }, { s: T0, e: T0 + 3000 });
  assert.equal(set.firingSize, 0);
  assert.equal(set.size, 1, 'resolved alerts are kept for a while');
});

test('ActiveAlerts: re-firing after resolve is a new instance; resolved alerts are dropped after the retention', () => {
  const set = new ActiveAlerts({ resolvedRetention: 15 * MIN });
  const d = desired(down);
  set.update([d], T0);
  set.update([], T0 + MIN);
  const [again] = set.update([d], T0 + 2 * MIN);
  assert.equal(again!.startsAt, T0 + 2 * MIN);
  assert.equal(again!.endsAt, null);
  set.update([], T0 + 3 * MIN);
  assert.equal(set.prune(T0 + 16 * MIN), 0, 'the first resolve was superseded; the second is not old enough');
  assert.equal(set.prune(T0 + 18 * MIN), 1);
  assert.equal(set.size, 0);
});

test('ActiveAlerts: scopes (hosts) whose array is the same object are skipped; a vanished scope resolves', () => {
  const set = new ActiveAlerts();
  const a = [desired(down)];
  const b = [desired({ ...down, host: 'gpu-b' })];
  assert.equal(set.update(new Map([['gpu-a', a], ['gpu-b', b]]), T0).length, 2);
  assert.equal(set.update(new Map([['gpu-a', a], ['gpu-b', b]]), T0 + 1).length, 0);
  const changes = set.update(new Map([['gpu-a', a]]), T0 + 2);
  assert.deepEqual(
    changes.map((c) => [c.labels.host, c.endsAt]),
    [['gpu-b', T0 + 2]],
  );
});
