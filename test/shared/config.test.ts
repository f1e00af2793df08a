import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseAgentConfig } from '../../shared/config/agent-config.js';
import { ConfigError } from '../../shared/errors.js';
import { parseDuration, formatDuration } from '../../shared/duration.js';

const CLI = new URL('../../cli/main.js', import.meta.url).pathname;
const good = `
services:
  - name: llama-vision
    kind: llamacpp
    url: http://127.0.0.1:8001
    unit: llama-vision-server.service
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): { path: string; message: string }[] {
  try {
    parseAgentConfig('agent.yaml', text, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('config was accepted');
}

test('durations parse in every documented form', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration(1500), 1500);
  assert.equal(parseDuration('1500'), 1500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('10 seconds'), undefined);
  assert.equal(parseDuration(-1), undefined);
  assert.equal(formatDuration(90_000), '1m30s');
});

test('a minimal config gets every default, durations in ms', () => {
  const cfg = parseAgentConfig('agent.yaml', good, { env: {} });
  const s = cfg.services[0]!;
  assert.equal(s.interval, 10_000);
  assert.equal(s.retries, 3);
  assert.equal(s.retryDelay, 2000);
  assert.equal(s.startupGrace, 600_000);
  assert.equal(s.stallAfter, 60_000);
  assert.deepEqual(cfg.restart.systemctl, ['systemctl']);
  assert.equal(cfg.restart.maxRestarts, 3);
  assert.equal(cfg.restart.window, 1_800_000);
  assert.equal(cfg.gpu.enabled, 'auto');
});

test('the seed example config is valid', () => {
  const { readFileSync } = require_();
  const text = readFileSync(new URL('../../../deploy/examples/seed.yaml', import.meta.url), 'utf8');
  const cfg = parseAgentConfig('seed.yaml', text, { env: {} });
  assert.deepEqual(cfg.services.map((s) => s.name), ['llama-vision', 'qwen-vl']);
  assert.deepEqual(cfg.services[1]!.fallbackUrls, ['http://127.0.0.1:8003']);
});
function require_() {
  return { readFileSync: (u: URL, e: 'utf8') => spawnSync('cat', [u.pathname], { encoding: e }).stdout };
}

test('per-service settings override defaults', () => {
  const cfg = parseAgentConfig('a.yaml', `defaults: { interval: 1s, retries: 5 }\nservices:\n  - { name: a, kind: vllm, url: 'http://127.0.0.1:1', interval: 2s }\n`, { env: {} });
  assert.equal(cfg.services[0]!.interval, 2000);
  assert.equal(cfg.services[0]!.retries, 5);
});

test('${VAR} expands from the environment, with :- defaults', () => {
  const cfg = parseAgentConfig('a.yaml', `agent: { id: '\${HOST_ID}' }\nservices:\n  - { name: a, kind: vllm, url: 'http://127.0.0.1:\${PORT:-8002}' }\n`, { env: { HOST_ID: 'gpu-7' } });
  assert.equal(cfg.agent.id, 'gpu-7');
  assert.equal(cfg.services[0]!.url, 'http://127.0.0.1:8002');
});

const mistakes: { name: string; text: string; path: string; match: RegExp; env?: NodeJS.ProcessEnv }[] = [
  { name: 'unknown key', text: `${good}    retires: 3\n`, path: 'services[0].retires', match: /unknown key/ },
  { name: 'unknown top-level key', text: `${good}alerts: {}\n`, path: 'alerts', match: /unknown key/ },
  { name: 'bad duration', text: `defaults: { interval: 10 seconds }\n${good}`, path: 'defaults.interval', match: /expected a duration/ },
  { name: 'bad URL', text: good.replace('http://127.0.0.1:8001', 'ftp://127.0.0.1:8001'), path: 'services[0].url', match: /expected an absolute http\/https\/tcp URL/ },
  { name: 'not a URL', text: good.replace('http://127.0.0.1:8001', '127.0.0.1:8001'), path: 'services[0].url', match: /URL/ },
  { name: 'unit with shell metacharacters', text: good.replace('llama-vision-server.service', '"x.service; rm -rf /"'), path: 'services[0].unit', match: /systemd unit name/ },
  { name: 'unit starting with a dash (option injection)', text: good.replace('llama-vision-server.service', '"-H.service"'), path: 'services[0].unit', match: /systemd unit name/ },
  { name: 'duplicate service name', text: `${good}  - { name: llama-vision, kind: vllm, url: 'http://127.0.0.1:8002' }\n`, path: 'services[1].name', match: /duplicate service name "llama-vision" \(first used at services\[0\]\)/ },
  { name: 'missing ${VAR}', text: `coordinator: { url: 'ws://127.0.0.1:7700/agent', token: '\${LLM_HEALTH_AGENT_TOKEN}' }\n${good}`, path: 'coordinator.token', match: /environment variable LLM_HEALTH_AGENT_TOKEN is not set/ },
  { name: 'wrong kind', text: good.replace('kind: llamacpp', 'kind: llama.cpp'), path: 'services[0].kind', match: /expected one of "llamacpp", "vllm"/ },
  { name: 'empty services', text: 'services: []\n', path: 'services', match: /at least 1/ },
  { name: 'missing services', text: 'agent: { id: x }\n', path: 'services', match: /is required/ },
  { name: 'wrong type', text: `defaults: { retries: three }\n${good}`, path: 'defaults.retries', match: /expected an integer from 1 to 20/ },
  { name: 'tcp kind with http URL', text: `services:\n  - { name: t, kind: tcp, url: 'http://127.0.0.1:1' }\n`, path: 'services[0].url', match: /tcp:\/\/host:port/ },
  { name: 'YAML syntax error', text: 'services: [\n', path: 'line', match: /YAML syntax/ },
  { name: 'redact pattern that does not compile', text: `${good}restart:\n  redact: ['hf_[A-Za-z0-9]{20,}', 'token=(\\S+']\n`, path: 'restart.redact[1]', match: /expected a JavaScript regular expression, got "token=\(\\\\S\+" \(Invalid regular expression/ },
];

test('restart.redact: none by default; patterns kept as written', () => {
  assert.deepEqual(parseAgentConfig('agent.yaml', good, { env: {} }).restart.redact, []);
  const cfg = parseAgentConfig('agent.yaml', `${good}restart:\n  redact: ['acme-[0-9a-f]{8}', '(?<=SESSION )[A-Z0-9]{6,}']\n`, { env: {} });
  assert.deepEqual(cfg.restart.redact, ['acme-[0-9a-f]{8}', '(?<=SESSION )[A-Z0-9]{6,}']);
});

test('restart.redact: a bad pattern is an error naming the file, the key path and what was expected', () => {
  const text = `${good}restart:\n  redact: ['ok-[0-9]+', '[unclosed', 'a*', 42]\n`;
  assert.throws(
    () => parseAgentConfig('/etc/llm-health/agent.yaml', text, { env: {} }),
    (err: unknown) => err instanceof ConfigError && /^\/etc\/llm-health\/agent\.yaml: restart\.redact\[3\]: expected a regular expression/m.test(err.message),
  );
  const issues = issuesOf(`${good}restart:\n  redact: ['ok-[0-9]+', '[unclosed', 'a*']\n`);
  assert.deepEqual(
    issues.map((i) => i.path),
    ['restart.redact[1]', 'restart.redact[2]'],
  );
  assert.match(issues[0]!.message, /^expected a JavaScript regular expression, got "\[unclosed" \(Invalid regular expression: .*\)$/);
  assert.match(issues[1]!.message, /matches the empty string/);
});

for (const m of mistakes) {
  test(`config mistake: ${m.name} names the key path`, () => {
    const issues = issuesOf(m.text, m.env);
    const hit = issues.find((i) => i.path.startsWith(m.path) && m.match.test(i.message));
    assert.ok(hit, `no issue at ${m.path} matching ${m.match}; got ${JSON.stringify(issues)}`);
  });
}

test('every mistake exits 2 from `llm-health config validate` with file and key path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [i, m] of mistakes.entries()) {
    const file = join(dir, `bad-${i}.yaml`);
    writeFileSync(file, m.text);
    const env = { ...process.env };
    delete env.LLM_HEALTH_AGENT_TOKEN;
    const r = spawnSync(process.execPath, [CLI, 'config', 'validate', '-c', file], { encoding: 'utf8', env });
    assert.equal(r.status, 2, `${m.name}: exit ${r.status}, stderr ${r.stderr}`);
    assert.ok(r.stderr.includes(`${file}: ${m.path}`), `${m.name}: stderr should name ${file}: ${m.path}, got ${r.stderr}`);
  }
  const okFile = join(dir, 'ok.yaml');
  writeFileSync(okFile, good);
  const r = spawnSync(process.execPath, [CLI, 'config', 'validate', '-c', okFile], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const missing = spawnSync(process.execPath, [CLI, 'config', 'validate', '-c', join(dir, 'nope.yaml')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.yaml: \(top level\): file not found/);
});
