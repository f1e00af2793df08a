import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maintenanceMain } from '../../cli/maintenance.js';
import { ADMIN_TOKEN, TestAgent, getJson, startTestCoordinator, wsUrl } from '../coordinator/helpers.js';

function io(env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) }, env } };
}

test('llm-health maintenance on/off: the window on the coordinator, usage errors, refusals', async () => {
  const t = await startTestCoordinator();
  const { agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a');
  try {
    const base = ['--url', t.coord.url, '--token', ADMIN_TOKEN];
    const on = io();
    assert.equal(await maintenanceMain(['on', '--host', 'gpu-a', '--for', '2h', '--comment', 'driver update', ...base], on.io), 0, on.out.stderr);
    assert.match(on.out.stdout, /gpu-a: in maintenance until \d{4}-/);
    const host = (await getJson(`${t.coord.url}/api/v1/fleet`)).body.hosts[0];
    assert.equal(host.maintenance.comment, 'driver update');

    await assert.rejects(maintenanceMain(['on', ...base], io().io), /--host ID is required/);
    await assert.rejects(maintenanceMain(['on', '--host', 'gpu-a', '--for', '1h', '--until', '2030-01-01T00:00:00Z', ...base], io().io), /not both/);
    await assert.rejects(maintenanceMain(['pause', '--host', 'gpu-a', ...base], io().io), /expected on or off/);
    const unknown = io();
    assert.equal(await maintenanceMain(['on', '--host', 'nope', ...base], unknown.io), 1);

    const off = io();
    assert.equal(await maintenanceMain(['off', '--host', 'gpu-a', ...base], off.io), 0, off.out.stderr);
    assert.match(off.out.stdout, /maintenance ended/);
    assert.equal((await getJson(`${t.coord.url}/api/v1/fleet`)).body.hosts[0].maintenance, null);
    assert.equal(await maintenanceMain(['off', '--host', 'gpu-a', ...base], io().io), 1, 'not in maintenance');
  } finally {
    await agent.closeAndWait();
    await t.close();
  }
});
