import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { agentUnitEnvironment, unitEnvironment } from '../../bench/lib/unit-env.js';

test('Environment= lines: quoted words keep their spaces, later assignments win', () => {
  const env = unitEnvironment(['[Service]', 'Environment="NODE_OPTIONS=--a=1 --b" X=1', '# Environment=IGNORED=1', 'Environment=X=2 Y=', 'ExecStart=/bin/true'].join('\n'));
  assert.deepEqual(env, { NODE_OPTIONS: '--a=1 --b', X: '2', Y: '' });
});

test('the agent unit starts node with the memory settings the footprint benchmark measures', () => {
  const env = agentUnitEnvironment();
  const options = (env.NODE_OPTIONS ?? '').split(/\s+/);
  assert.ok(options.includes('--max-semi-space-size=1'), env.NODE_OPTIONS);
  assert.ok(options.includes('--v8-pool-size=1'), env.NODE_OPTIONS);
  assert.equal(env.MALLOC_ARENA_MAX, '1');
  // node refuses V8 options it does not allow in NODE_OPTIONS: the unit must not fail to start
  const run = spawnSync(process.execPath, ['-e', "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))"], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(Number(run.stdout) <= 2 * 1024 * 1024, `new space ${run.stdout} bytes`);
});
