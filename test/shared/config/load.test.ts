/**
 * shared/config/load.ts: every problem of a file at once (environment, schema and each
 * config's own checks), `${VAR}` placeholders for checking without secrets, and periods
 * that must be longer than 0.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentConfig } from '../../../shared/config/agent-config.js';
import { parseCoordinatorConfig } from '../../../shared/config/coordinator-config.js';
import { mergeIssues } from '../../../shared/config/load.js';
import { ConfigError, type ConfigIssue } from '../../../shared/errors.js';

const SERVICE = '  - { name: a, kind: llamacpp, url: "http://127.0.0.1:8001", unit: a.service }\n';
const AGENT = `services:\n${SERVICE}`;
const COORD = 'auth:\n  agentTokens: [a-token]\n';

function issuesOf(parse: () => unknown): ConfigIssue[] {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail('the file was accepted');
}
const agentIssues = (text: string, placeholders = false) => issuesOf(() => parseAgentConfig('agent.yaml', text, { env: {}, placeholders }));
const coordIssues = (text: string, placeholders = false) => issuesOf(() => parseCoordinatorConfig('/tmp/coordinator.yaml', text, { env: {}, placeholders }));
const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path).sort();

describe('every problem at once', () => {
  test('a missing auth no longer hides an invalid port or a zero period: all three are reported', () => {
    const issues = coordIssues('listen: 127.0.0.1:99999\nalerts:\n  groupInterval: 0\n');
    assert.deepEqual(paths(issues), ['alerts.groupInterval', 'auth', 'listen']);
    assert.match(issues.find((i) => i.path === 'listen')!.message, /port from 0 to 65535/);
  });

  test('agent: a schema error and the checks of other services are reported together', () => {
    const text = `services:\n${SERVICE}${SERVICE}  - { name: t, kind: tcp, url: "http://127.0.0.1:9", retries: 0 }\n`;
    assert.deepEqual(paths(agentIssues(text)), ['services[1].name', 'services[2].retries', 'services[2].url']);
  });

  test('an unset variable and schema errors elsewhere are reported together, once per key', () => {
    const issues = agentIssues(`coordinator: { url: ws://127.0.0.1:7700/agent, token: \${NOPE} }\ndefaults: { interval: 0 }\n${AGENT}`);
    assert.deepEqual(paths(issues), ['coordinator.token', 'defaults.interval']);
    assert.match(issues[0]!.message, /NOPE is not set/);
  });

  test('values of the wrong shape everywhere are reported, never a crash', () => {
    for (const text of ['services: 5', 'services: [5, null, {}]', 'defaults: null\nservices: [{ url: 5, fallbackUrls: 7 }]', 'coordinator: { url: 5, ca: 7 }\nrestart: { redact: [5, "("] }\nservices: []']) {
      assert.ok(agentIssues(text).length > 0, text);
    }
    for (const text of ['auth: 5', 'auth: { agentTokens: [5, null, { token: 3 }] }\nnotify: [5, null, { type: email, smtp: 5 }]', 'auth: { agentTokenFile: 5 }\ntls: { cert: 5, key: null }\nlisten: 5\nfleet: null']) {
      assert.ok(coordIssues(text).length > 0, text);
    }
  });

  test('later steps say nothing more about a key an earlier step already reported', () => {
    const merged = mergeIssues([{ path: 'a', message: 'unset' }], [{ path: 'a', message: 'too short' }, { path: 'b', message: 'bad' }], [{ path: 'b', message: 'worse' }, { path: 'c', message: 'x' }, { path: 'c', message: 'x' }]);
    assert.deepEqual(merged, [{ path: 'a', message: 'unset' }, { path: 'b', message: 'bad' }, { path: 'c', message: 'x' }]);
  });
});

describe('placeholders (config validate --no-env)', () => {
  test('unset references in string, URL and list keys stand for fitting values', () => {
    const agent = `coordinator: { url: \${COORD_URL}, token: \${TOKEN} }\nservices:\n  - name: a\n    kind: vllm\n    url: \${LLM_URL}\n    fallbackUrls: [\${FALLBACK}]\n    unit: a.service\n    model: \${MODEL}\n`;
    assert.ok(agentIssues(agent).length >= 4, 'without placeholders every unset variable is an error');
    assert.doesNotThrow(() => parseAgentConfig('agent.yaml', agent, { env: {}, placeholders: true }));
    const coord = `listen: \${LISTEN}\nauth:\n  agentTokens: [\${A}]\n  adminTokens: [\${B}]\nnotify:\n  - { name: s, type: slack, url: \${SLACK_URL} }\nfleet: { heartbeatInterval: \${HB} }\n`;
    assert.doesNotThrow(() => parseCoordinatorConfig('/tmp/c.yaml', coord, { env: {}, placeholders: true }));
  });

  test('a set variable is still used, and still checked', () => {
    assert.throws(() => parseAgentConfig('agent.yaml', `defaults: { interval: \${I} }\n${AGENT}`, { env: { I: '0' }, placeholders: true }), /defaults\.interval: expected a duration greater than 0/);
  });

  test('a placeholder in a number or boolean key is still an error: no variable can fill those', () => {
    const issues = agentIssues(`defaults: { retries: \${R} }\nrestart: { enabled: \${E} }\n${AGENT}`, true);
    assert.deepEqual(paths(issues), ['defaults.retries', 'restart.enabled']);
  });

  test('other mistakes in the file are still found', () => {
    assert.deepEqual(paths(agentIssues(`coordinator: { url: \${U}, token: \${T} }\nrestart: { window: 0 }\n${AGENT}`, true)), ['restart.window']);
  });
});

describe('periods', () => {
  const agentPositive: Record<string, string> = {
    'defaults.interval': 'defaults: { interval: %s }',
    'defaults.timeout': 'defaults: { timeout: %s }',
    'defaults.stallAfter': 'defaults: { stallAfter: %s }',
    'defaults.slowAfter': 'defaults: { slowAfter: %s }',
    'services[0].interval': 'services:\n  - { name: a, kind: tcp, url: "tcp://127.0.0.1:9", interval: %s }',
    'services[0].deepProbe.every': 'services:\n  - { name: a, kind: vllm, url: "http://127.0.0.1:9", deepProbe: { every: %s } }',
    'services[0].deepProbe.timeout': 'services:\n  - { name: a, kind: vllm, url: "http://127.0.0.1:9", deepProbe: { timeout: %s } }',
    'coordinator.heartbeat': 'coordinator: { url: "ws://127.0.0.1:1/agent", token: t, heartbeat: %s }',
    'coordinator.reconnectMax': 'coordinator: { url: "ws://127.0.0.1:1/agent", token: t, reconnectMax: %s }',
    'restart.window': 'restart: { window: %s }',
    'restart.timeout': 'restart: { timeout: %s }',
    'gpu.interval': 'gpu: { interval: %s }',
  };
  const coordPositive = ['fleet.agentLostAfter', 'fleet.heartbeatInterval', 'fleet.helloTimeout', 'fleet.retireAfter', 'alerts.groupInterval', 'alerts.repeatInterval', 'store.retention', 'store.pruneInterval', 'silences.maxDuration'];
  const agentDoc = (key: string, value: string) => {
    const doc = agentPositive[key]!.replace('%s', value);
    return doc.startsWith('services:') ? doc : `${doc}\n${AGENT}`;
  };
  const coordDoc = (key: string, value: string) => {
    const [section, name] = key.split('.');
    return `${COORD}${section}: { ${name}: ${value} }\n`;
  };

  for (const value of ['0', '0s', '-5s']) {
    test(`${value} is refused for every agent period, naming the key`, () => {
      for (const key of Object.keys(agentPositive)) {
        const hit = agentIssues(agentDoc(key, value)).find((i) => i.path === key);
        assert.ok(hit, `${key}: ${value} accepted`);
        assert.match(hit.message, /expected a duration greater than 0 \(like 500ms/, key);
      }
    });
    test(`${value} is refused for every coordinator period, naming the key`, () => {
      for (const key of coordPositive) {
        const hit = coordIssues(coordDoc(key, value)).find((i) => i.path === key);
        assert.ok(hit, `${key}: ${value} accepted`);
        assert.match(hit.message, /greater than 0/, key);
      }
      const notify = coordIssues(`${COORD}notify:\n  - { name: h, type: webhook, url: "http://127.0.0.1:9", timeout: ${value} }\n`);
      assert.deepEqual(paths(notify), ['notify[0].timeout']);
    });
  }

  test('0 stays allowed where it means something: no delay, no grace, no wait, no pacing', () => {
    assert.doesNotThrow(() => parseAgentConfig('agent.yaml', `defaults: { retryDelay: 0, startupGrace: 0s }\nrestart: { backoff: 0 }\n${AGENT}`, { env: {} }));
    assert.doesNotThrow(() => parseCoordinatorConfig('/tmp/c.yaml', `${COORD}alerts: { groupWait: 0 }\nnotify:\n  - { name: h, type: webhook, url: "http://127.0.0.1:9", minInterval: 0 }\n`, { env: {} }));
  });

  test('a negative duration where 0 is allowed says so', () => {
    const [issue] = agentIssues(`defaults: { retryDelay: -1s }\n${AGENT}`);
    assert.equal(issue?.path, 'defaults.retryDelay');
    assert.match(issue!.message, /expected a duration of 0 or more .*got "-1s"/);
  });
});
