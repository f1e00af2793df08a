/** `llm-health config validate` (cli/config.ts) run as operators run it. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../deploy/examples/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llmh-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without any variable the example files reference. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

test('every example file passes config validate --no-env without its secrets in the environment', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const f of files) {
    const r = await runCli(['config', 'validate', '--no-env', '-c', join(EXAMPLES, f)], bareEnv());
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    assert.match(r.stdout, /valid (agent|coordinator) config/);
  }
});

test('without --no-env an unset variable is still an error naming the key', async () => {
  const r = await runCli(['config', 'validate', '-c', join(EXAMPLES, 'agent.yaml')], { LLM_HEALTH_AGENT_TOKEN: '' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /coordinator\.token: environment variable LLM_HEALTH_AGENT_TOKEN is not set/);
});

test('a file with three mistakes reports all three, each with the file and key', async () => {
  const file = join(dir, 'three.yaml');
  writeFileSync(file, 'listen: 127.0.0.1:99999\nalerts:\n  groupInterval: 0\n');
  const r = await runCli(['config', 'validate', '--no-env', '-c', file, '--kind', 'coordinator']);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n').slice(1);
  assert.deepEqual(lines.map((l) => l.split(': ')[1]).sort(), ['alerts.groupInterval', 'auth', 'listen']);
  for (const l of lines) assert.ok(l.startsWith(`${file}: `), l);
});
