import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCoordinatorConfig, parseCoordinatorConfig, parseListen } from '../../shared/config/coordinator-config.js';
import { ConfigError, ErrorCode } from '../../shared/errors.js';

const FILE = '/etc/llm-health/coordinator.yaml';

function issues(text: string, env: NodeJS.ProcessEnv = {}): { path: string; message: string }[] {
  try {
    parseCoordinatorConfig(FILE, text, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(err.message.startsWith(`${FILE}: `), err.message);
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

function issueAt(text: string, path: string, message?: RegExp, env: NodeJS.ProcessEnv = {}): void {
  const all = issues(text, env);
  const hit = all.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(all)}`);
  if (message) assert.match(hit.message, message);
}

const MINIMAL = 'auth:\n  agentTokens: [a-token]\n';

test('a minimal config gets every default', () => {
  const c = parseCoordinatorConfig(FILE, MINIMAL, { env: {} });
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 7700 });
  assert.equal(c.dataDir, '/etc/llm-health/data', 'dataDir is relative to the config file');
  assert.deepEqual(c.auth, { agentTokens: [{ token: 'a-token', agents: null, source: 'auth.agentTokens[0]' }], adminTokens: [], adminTokenNames: [], viewerTokens: [], evidenceWithoutToken: false });
  assert.deepEqual(c.fleet, { agentLostAfter: 30_000, heartbeatInterval: 10_000, helloTimeout: 10_000, retireAfter: 7 * 86_400_000 });
  assert.deepEqual(c.alerts, { groupBy: ['alertname', 'service'], groupWait: 10_000, groupInterval: 60_000, repeatInterval: 4 * 3_600_000, sendResolved: true, resolvedRetention: 15 * 60_000 });
  assert.deepEqual(c.notify, []);
  assert.deepEqual(c.store, { retention: 30 * 86_400_000, pruneInterval: 3_600_000 });
  assert.deepEqual(c.limits, { maxPayload: 256 * 1024 });
  assert.deepEqual(c.silences, { maxDuration: 30 * 86_400_000 });
  assert.deepEqual(c.feed, { maxClients: 100, maxBufferedBytes: 4 * 1024 * 1024, maxMessageBytes: 256 * 1024 });
  assert.deepEqual(c.history, { retention: 30 * 86_400_000 });
  assert.equal(c.log.level, 'info');
});

test('admin tokens may be named; plain ones are named after where they are configured; names are unique', () => {
  const c = parseCoordinatorConfig(FILE, `auth:\n  agentTokens: [a-token]\n  adminTokens: [{ name: alice, token: t1 }, t2]\n`, { env: {} });
  assert.deepEqual(c.auth.adminTokens, ['t1', 't2']);
  assert.deepEqual(c.auth.adminTokenNames, ['alice', 'auth.adminTokens[1]']);
  assert.throws(() => parseCoordinatorConfig(FILE, `auth:\n  agentTokens: [a-token]\n  adminTokens: [{ name: bob, token: t1 }, { name: bob, token: t2 }]\n`, { env: {} }), /duplicate admin token name "bob"/);
  assert.throws(() => parseCoordinatorConfig(FILE, `auth:\n  agentTokens: [a-token]\n  adminTokens: [{ name: "no spaces", token: t1 }]\n`, { env: {} }));
});

test('the docs/configuration.md example parses, with ${VAR} expansion', () => {
  const text = `
listen: 127.0.0.1:7700
dataDir: ./data
auth:
  agentTokens:
    - { token: \${GPU_A_TOKEN}, agents: [gpu-a] }
    - { token: \${RACK2_TOKEN}, agents: ["rack2-*"] }
  adminTokens: [\${ADMIN_TOKEN}]
  viewerTokens: []
fleet:
  agentLostAfter: 30s
alerts:
  groupBy: [alertname, service]
  groupWait: 10s
  groupInterval: 1m
  repeatInterval: 4h
  sendResolved: true
notify:
  - name: ops-slack
    type: slack
    url: \${SLACK_WEBHOOK_URL}
    match: { severity: critical }
  - name: ops-discord
    type: discord
    url: \${DISCORD_WEBHOOK_URL}
  - name: oncall-mail
    type: email
    smtp: { host: 127.0.0.1, port: 25, secure: false }
    from: llm-health@example.com
    to: [admin@example.com]
  - name: hook
    type: webhook
    url: http://127.0.0.1:9000/hook
store:
  retention: 7d
limits:
  maxPayload: 65536
`;
  const env = { GPU_A_TOKEN: 'gpu-a-t', RACK2_TOKEN: 'rack2-t', ADMIN_TOKEN: 'admin-t', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X', DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/x' };
  const c = parseCoordinatorConfig(FILE, text, { env });
  assert.deepEqual(c.auth.agentTokens, [
    { token: 'gpu-a-t', agents: ['gpu-a'], source: 'auth.agentTokens[0]' },
    { token: 'rack2-t', agents: ['rack2-*'], source: 'auth.agentTokens[1]' },
  ]);
  assert.deepEqual(c.auth.adminTokens, ['admin-t']);
  assert.equal(c.notify.length, 4);
  assert.deepEqual(c.notify[0]!.match, { severity: 'critical' });
  assert.equal(c.notify[2]!.smtp!.host, '127.0.0.1');
  assert.equal(c.store.retention, 7 * 86_400_000);
  assert.equal(c.limits.maxPayload, 65536);
});

test('unknown keys name their path and the allowed keys', () => {
  issueAt(`${MINIMAL}fleet:\n  agentLostAfterr: 30s\n`, 'fleet.agentLostAfterr', /unknown key.*agentLostAfter/);
  issueAt(`${MINIMAL}bogus: 1\n`, 'bogus', /unknown key/);
  issueAt(`${MINIMAL}notify:\n  - name: a\n    type: webhook\n    url: http://x\n    colour: red\n`, 'notify[0].colour', /unknown key/);
});

test('bad durations, types and enums name their key path', () => {
  issueAt(`${MINIMAL}fleet:\n  agentLostAfter: soon\n`, 'fleet.agentLostAfter', /duration like/);
  issueAt(`${MINIMAL}store:\n  retention: forever\n`, 'store.retention', /duration/);
  issueAt(`${MINIMAL}limits:\n  maxPayload: 10\n`, 'limits.maxPayload', /4096/);
  issueAt(`${MINIMAL}silences:\n  maxDuration: 0s\n`, 'silences.maxDuration', /greater than 0/);
  assert.equal(parseCoordinatorConfig(FILE, `${MINIMAL}silences:\n  maxDuration: 7d\n`, { env: {} }).silences.maxDuration, 7 * 86_400_000);
  issueAt(`${MINIMAL}notify:\n  - name: a\n    type: pager\n`, 'notify[0].type', /slack/);
  issueAt(`${MINIMAL}notify:\n  - name: a\n    type: slack\n    url: ftp://x\n`, 'notify[0].url', /http/);
  issueAt(`${MINIMAL}log:\n  level: loud\n`, 'log.level');
});

test('listen must be host:port with a real port', () => {
  issueAt(`${MINIMAL}listen: localhost\n`, 'listen', /host:port/);
  issueAt(`${MINIMAL}listen: 127.0.0.1:70000\n`, 'listen', /port/);
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':7700'), { host: '0.0.0.0', port: 7700 });
});

test('auth: agent tokens are required; unset variables name the key', () => {
  issueAt('auth: {}\n', 'auth.agentTokens', /at least one/);
  issueAt('listen: 127.0.0.1:7700\n', 'auth', /required/);
  issueAt('auth:\n  agentTokens: [${AGENT_TOKEN}]\n', 'auth.agentTokens[0]', /AGENT_TOKEN is not set/);
  issueAt('auth:\n  agentTokens: [""]\n', 'auth.agentTokens[0]');
});

test('auth: token files, relative to the config file, one token per line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-cfg-'));
  writeFileSync(join(dir, 'agents.tokens'), '# agent tokens\nfirst\n\n  second  \n');
  const file = join(dir, 'coordinator.yaml');
  writeFileSync(file, 'auth:\n  agentTokenFile: agents.tokens\n  viewerTokenFile: missing.tokens\n');
  assert.throws(() => loadCoordinatorConfig(file, { env: {} }), (err: ConfigError) => {
    assert.ok(err.issues.some((i) => i.path === 'auth.viewerTokenFile' && /cannot read token file/.test(i.message)), JSON.stringify(err.issues));
    return true;
  });
  writeFileSync(file, 'auth:\n  agentTokenFile: agents.tokens\n');
  const c = loadCoordinatorConfig(file, { env: {} });
  assert.deepEqual(c.auth.agentTokens.map((t) => t.token), ['first', 'second']);
  assert.equal(c.dataDir, join(dir, 'data'));
  writeFileSync(file, 'auth:\n  agentTokens: [x]\n  agentTokenFile: agents.tokens\n');
  assert.throws(() => loadCoordinatorConfig(file, { env: {} }), /auth\.agentTokenFile: give agentTokens or agentTokenFile, not both/);
  rmSync(dir, { recursive: true, force: true });
});

test('auth: agent tokens bound to agent ids, in the config and in a token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-cfg-'));
  writeFileSync(join(dir, 'agents.tokens'), '# token, then the ids it may use\nplain\nbound gpu-a  rack2-*\n');
  const file = join(dir, 'coordinator.yaml');
  writeFileSync(file, 'auth:\n  agentTokenFile: agents.tokens\n');
  assert.deepEqual(loadCoordinatorConfig(file, { env: {} }).auth.agentTokens, [
    { token: 'plain', agents: null, source: 'auth.agentTokenFile line 2' },
    { token: 'bound', agents: ['gpu-a', 'rack2-*'], source: 'auth.agentTokenFile line 3' },
  ]);
  writeFileSync(join(dir, 'agents.tokens'), 'secret-token gpu-a b@d\n');
  assert.throws(() => loadCoordinatorConfig(file, { env: {} }), (err: ConfigError) => {
    const issue = err.issues.find((i) => i.path === 'auth.agentTokenFile');
    assert.match(issue?.message ?? '', /line 1: expected agent ids or globs after the token, got "b@d"/);
    assert.doesNotMatch(err.message, /secret-token/);
    return true;
  });
  rmSync(dir, { recursive: true, force: true });
  issueAt('auth:\n  agentTokens:\n    - { token: t, agents: [] }\n', 'auth.agentTokens[0].agents');
  issueAt('auth:\n  agentTokens:\n    - { token: t }\n', 'auth.agentTokens[0]');
  issueAt('auth:\n  agentTokens:\n    - { token: t, agents: ["gpu a"] }\n', 'auth.agentTokens[0].agents[0]');
});

test('notify: per-type required keys and duplicate names', () => {
  issueAt(`${MINIMAL}notify:\n  - name: mail\n    type: email\n    from: a@b.c\n    to: [x@y.z]\n`, 'notify[0].smtp', /required for type email/);
  issueAt(`${MINIMAL}notify:\n  - name: s\n    type: slack\n`, 'notify[0].url', /required for type slack/);
  issueAt(`${MINIMAL}notify:\n  - name: s\n    type: slack\n    url: http://x\n    from: a@b.c\n`, 'notify[0].from', /only used by type email/);
  issueAt(`${MINIMAL}notify:\n  - name: s\n    type: webhook\n    url: http://x\n  - name: s\n    type: webhook\n    url: http://y\n`, 'notify[1].name', /duplicate/);
});

test('notify.matchRe: RE2 regexes, checked at load; what RE2 cannot run names the receiver, label and regex', () => {
  const receiver = (matchRe: string) => `${MINIMAL}notify:\n  - name: s\n    type: webhook\n    url: http://x\n    matchRe:\n      host: '${matchRe}'\n`;
  const c = parseCoordinatorConfig(FILE, receiver('gpu-(a|b)+'), { env: {} });
  assert.deepEqual(c.notify[0]!.matchRe, { host: 'gpu-(a|b)+' }, 'nested repetition is fine in RE2');
  assert.equal(parseCoordinatorConfig(FILE, `${MINIMAL}notify:\n  - name: s\n    type: webhook\n    url: http://x\n`, { env: {} }).notify[0]!.matchRe, undefined);
  issueAt(receiver('(?=gpu)g.*'), 'notify[0].matchRe.host', /^regex matcher host=~"\(\?=gpu\)g\.\*": lookaround .* not supported in RE2 syntax/);
  issueAt(receiver('(?<!x)gpu'), 'notify[0].matchRe.host', /lookaround/);
  issueAt(receiver('(gpu)-\\1'), 'notify[0].matchRe.host', /backreferences .* not supported in RE2 syntax/);
  issueAt(receiver('gpu-['), 'notify[0].matchRe.host', /not valid RE2 syntax: missing closing \]/);
  issueAt(receiver('x'.repeat(300)), 'notify[0].matchRe.host', /too long/);
  issueAt(`${MINIMAL}notify:\n  - name: s\n    type: webhook\n    url: http://x\n    matchRe: [a]\n`, 'notify[0].matchRe', /mapping of label names to RE2 regexes/);
});

test('fleet.agentLostAfter must exceed the heartbeat interval', () => {
  issueAt(`${MINIMAL}fleet:\n  agentLostAfter: 5s\n  heartbeatInterval: 10s\n`, 'fleet.agentLostAfter', /longer than/);
});

test('a missing file and broken YAML are config errors with their own codes', () => {
  assert.throws(() => loadCoordinatorConfig('/nonexistent/c.yaml'), (err: ConfigError) => err.code === ErrorCode.ConfigNotFound && /file not found/.test(err.message));
  assert.throws(() => parseCoordinatorConfig(FILE, 'auth: [unclosed\n'), (err: ConfigError) => err.code === ErrorCode.ConfigParse);
});

test('the form `[${VAR}]` (not valid YAML as written) is accepted; other lines are untouched', async () => {
  const { quoteFlowEnvRefs } = await import('../../shared/config/load.js');
  assert.equal(quoteFlowEnvRefs('  agentTokens: [${A}, ${B:-x}, plain] # c'), '  agentTokens: ["${A}", "${B:-x}", plain] # c');
  assert.equal(quoteFlowEnvRefs('    - { token: ${A}, agents: [gpu-a] } # c'), '    - { token: "${A}", agents: [gpu-a] } # c');
  assert.equal(quoteFlowEnvRefs('  smtp: { host: h, pass: ${P:-x} }'), '  smtp: { host: h, pass: "${P:-x}" }');
  assert.equal(quoteFlowEnvRefs('  x: { a: "${A}", b: pre${B} }'), '  x: { a: "${A}", b: pre${B} }', 'quoted or partial references are left alone');
  assert.equal(quoteFlowEnvRefs('url: "http://x/[${A}]"'), 'url: "http://x/[${A}]"');
  assert.equal(quoteFlowEnvRefs('to: [a@b.c]'), 'to: [a@b.c]');
  const c = parseCoordinatorConfig(FILE, 'auth:\n  agentTokens: [${A}, ${B}]\n  adminTokens: [ ${C} ]\n', { env: { A: 'a1', B: 'b1', C: 'c1' } });
  assert.deepEqual(c.auth.agentTokens.map((t) => t.token), ['a1', 'b1']);
  assert.deepEqual(c.auth.adminTokens, ['c1']);
});
