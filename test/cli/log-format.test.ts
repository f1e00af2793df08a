/** cli/log-format.ts: --log-format and LLM_HEALTH_LOG_FORMAT. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { logFormatOption } from '../../cli/log-format.js';
import { runCli } from '../helpers/cli.js';

const SEED = fileURLToPath(new URL('../../../deploy/examples/seed.yaml', import.meta.url));

test('the flag wins over the environment; neither leaves the choice to the logger', () => {
  assert.equal(logFormatOption('check', 'json', { LLM_HEALTH_LOG_FORMAT: 'pretty' }), 'json');
  assert.equal(logFormatOption('check', undefined, { LLM_HEALTH_LOG_FORMAT: 'pretty' }), 'pretty');
  assert.equal(logFormatOption('check', undefined, { LLM_HEALTH_LOG_FORMAT: '' }), undefined);
  assert.equal(logFormatOption('check', undefined, {}), undefined);
});

test('a value other than json or pretty is a usage error naming where it came from', () => {
  assert.throws(() => logFormatOption('agent', 'xml', {}), /agent: --log-format must be json or pretty, got "xml"/);
  assert.throws(() => logFormatOption('agent', undefined, { LLM_HEALTH_LOG_FORMAT: 'JSON' }), /LLM_HEALTH_LOG_FORMAT must be json or pretty, got "JSON"/);
});

test('check, agent and coordinator exit 2 on a bad --log-format', async () => {
  for (const cmd of ['check', 'agent', 'coordinator']) {
    const r = await runCli([cmd, '-c', SEED, '--log-format', 'xml']);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${cmd}: --log-format must be json or pretty`));
  }
});
