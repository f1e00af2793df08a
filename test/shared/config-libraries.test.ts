import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { parseAgentConfig } from '../../shared/config/agent-config.js';
import { releaseConfigAjv } from '../../shared/config/load.js';
import { configLibraryModules } from '../../shared/config/libraries.js';

const requireHere = createRequire(import.meta.url);
const good = `
services:
  - name: llama-vision
    kind: llamacpp
    url: http://127.0.0.1:8001
    unit: llama-vision-server.service
    interval: 2s
`;

test('after a config load is released, ajv and yaml are no longer in the require cache; a later load loads them again', () => {
  const first = parseAgentConfig('agent.yaml', good, { env: {} });
  const added = [...configLibraryModules()];
  assert.ok(added.some((k) => /node_modules\/ajv\//.test(k)), 'ajv was loaded through require');
  assert.ok(added.some((k) => /node_modules\/yaml\//.test(k)), 'yaml was loaded through require');
  for (const key of added) assert.ok(requireHere.cache[key], `${key} is cached while the libraries are in use`);

  releaseConfigAjv();
  assert.deepEqual(configLibraryModules(), []);
  for (const key of added) assert.equal(requireHere.cache[key], undefined, `${key} was evicted`);

  const second = parseAgentConfig('agent.yaml', good, { env: {} });
  assert.deepEqual(second, first);
  assert.equal(second.services[0]!.interval, 2000, 'defaults and durations still applied');
  releaseConfigAjv();
});

test('a library some other module had already loaded is not evicted', () => {
  const yamlPath = requireHere.resolve('yaml');
  requireHere('yaml');
  assert.ok(requireHere.cache[yamlPath]);
  parseAgentConfig('agent.yaml', good, { env: {} });
  assert.ok(!configLibraryModules().includes(yamlPath), 'yaml was already cached, so this load did not add it');
  releaseConfigAjv();
  assert.ok(requireHere.cache[yamlPath], 'still cached for its other user');
  // and config errors still carry file and key path after a reload
  assert.throws(() => parseAgentConfig('agent.yaml', good.replace('2s', 'soon'), { env: {} }), /services\[0\]\.interval/);
  releaseConfigAjv();
});
