import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../shared/clock.js';
import { agentUnderstandsMaintenance } from '../../../shared/protocol/constants.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, TestAgent, getJson, startTestCoordinator, wsUrl } from '../helpers.js';
import { MaintenanceBook } from '../../../coordinator/maintenance/book.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

async function call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

test('the book: a window is active until `until` by the injected clock, and comes back from the store', async () => {
  const store = SqliteStore.open(':memory:');
  const clock = new FakeClock();
  const changed: string[] = [];
  const book = new MaintenanceBook({ store: store.maintenance, clock, onChange: (h) => changed.push(h) });
  await book.start({ host: 'gpu-a', since: clock.now(), until: clock.now() + 1000, comment: 'c', by: 'ops' });
  assert.deepEqual(book.view('gpu-a'), { until: new Date(clock.now() + 1000).toISOString(), comment: 'c', by: 'ops' });
  const again = new MaintenanceBook({ store: store.maintenance, clock });
  await again.load();
  assert.ok(again.active('gpu-a'));
  clock.set(clock.now() + 1000);
  assert.equal(book.view('gpu-a'), null, 'ended at until');
  assert.equal(await book.end('gpu-a'), false, 'nothing active to end');
  assert.deepEqual(changed, ['gpu-a']);
  await store.close();
});

test('agent versions: only 0.2.0 and later are sent the maintenance message', () => {
  for (const v of ['0.2.0', '0.2.1', '0.10.0', '1.0.0', '0.2.0-rc.1+x']) assert.equal(agentUnderstandsMaintenance(v), true, v);
  for (const v of ['0.1.0', '0.1.9', 'test', '', null, undefined]) assert.equal(agentUnderstandsMaintenance(v), false, String(v));
});

test('maintenance API: admin only, validation, fleet view, the agent told, restart jobs skip the host unless asked, off', async () => {
  const t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  const agent = await TestAgent.connect(wsUrl(t.coord));
  agent.send({ type: 'hello', v: 1, agentId: 'gpu-a', bootId: 'boot1', labels: {}, agentVersion: '0.2.0', services: [{ name: 'llama', kind: 'llamacpp', url: 'http://127.0.0.1:1', unit: 'llama.service' }] });
  await agent.next('welcome');
  agent.send({ type: 'snapshot', v: 1, services: [] });
  assert.deepEqual(await agent.next('maintenance'), { type: 'maintenance', v: 1, until: null }, 'each connection is set right');
  const old = await TestAgent.connect(wsUrl(t.coord));
  old.send({ type: 'hello', v: 1, agentId: 'gpu-old', bootId: 'boot1', labels: {}, agentVersion: '0.1.0', services: [{ name: 'llama', kind: 'llamacpp', url: 'http://127.0.0.1:1', unit: 'llama.service' }] });
  await old.next('welcome');
  try {
    const url = `${t.coord.url}/api/v1/hosts/gpu-a/maintenance`;
    assert.equal((await call('POST', url, { for: '1h' })).status, 401);
    assert.equal((await call('POST', url, { for: '1h' }, VIEWER_TOKEN)).status, 403);
    assert.equal((await call('POST', url, {}, ADMIN_TOKEN)).status, 400, 'until or for is required');
    assert.equal((await call('POST', url, { for: '1h', until: '2030-01-01T00:00:00Z' }, ADMIN_TOKEN)).status, 400);
    assert.equal((await call('POST', url, { until: '2000-01-01T00:00:00Z' }, ADMIN_TOKEN)).status, 400, 'in the past');
    assert.equal((await call('POST', url, { for: '400d' }, ADMIN_TOKEN)).status, 400, 'past silences.maxDuration');
    assert.equal((await call('POST', `${t.coord.url}/api/v1/hosts/nope/maintenance`, { for: '1h' }, ADMIN_TOKEN)).status, 404);

    const on = await call('POST', url, { for: '1h', comment: 'driver update' }, ADMIN_TOKEN);
    assert.equal(on.status, 200);
    assert.equal(on.body.maintenance.by, 'auth.adminTokens[0]');
    const told = await agent.next('maintenance');
    assert.equal(told.until, on.body.maintenance.until);
    assert.equal(told.comment, 'driver update');
    const host = (await getJson(`${t.coord.url}/api/v1/fleet`, ADMIN_TOKEN)).body.hosts.find((h: { id: string }) => h.id === 'gpu-a');
    assert.deepEqual(host.maintenance, on.body.maintenance);
    assert.equal((await call('POST', `${t.coord.url}/api/v1/hosts/gpu-old/maintenance`, { for: '1h' }, ADMIN_TOKEN)).status, 200, 'an old agent: muted and skipped, never sent the message');

    const dry = await call('POST', `${t.coord.url}/api/v1/restarts`, { selector: { hosts: ['*'] }, dryRun: true }, ADMIN_TOKEN);
    assert.deepEqual(dry.body.targets, [], 'hosts in maintenance are skipped');
    const asked = await call('POST', `${t.coord.url}/api/v1/restarts`, { selector: { hosts: ['gpu-a'], includeMaintenance: true }, dryRun: true }, ADMIN_TOKEN);
    assert.deepEqual(asked.body.targets.map((x: { host: string }) => x.host), ['gpu-a']);

    assert.equal((await call('DELETE', url, undefined, ADMIN_TOKEN)).status, 200);
    assert.equal((await agent.next('maintenance')).until, null);
    assert.equal((await call('DELETE', url, undefined, ADMIN_TOKEN)).status, 404);
    assert.ok(!old.inbox.some((m) => m.type === 'maintenance'), 'an agent older than 0.2.0 never gets the message');
    assert.equal(old.ws.readyState, old.ws.OPEN, 'and keeps its link');
  } finally {
    await agent.closeAndWait();
    await old.closeAndWait();
    await t.close();
  }
});

test('the book: expire() forgets each ended window once, here and in the store; an active one stays', async () => {
  const store = SqliteStore.open(':memory:');
  const clock = new FakeClock();
  const book = new MaintenanceBook({ store: store.maintenance, clock });
  await book.start({ host: 'gpu-a', since: clock.now(), until: clock.now() + 1000, comment: 'driver', by: 'ops' });
  await book.start({ host: 'gpu-b', since: clock.now(), until: clock.now() + 60_000, comment: 'disk', by: 'ops' });
  assert.deepEqual(await book.expire(), []);
  clock.set(clock.now() + 1000);
  assert.deepEqual((await book.expire()).map((m) => m.host), ['gpu-a']);
  assert.deepEqual(await book.expire(), [], 'returned once');
  assert.deepEqual((await store.maintenance.listMaintenance()).map((m) => m.host), ['gpu-b'], 'gone from the store too');
  assert.ok(book.active('gpu-b'));
  await store.close();
});

test('a window ending by itself at `until` is in the audit log as maintenance.ended by system', async () => {
  const t = await startTestCoordinator();
  const { agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a');
  try {
    const url = `${t.coord.url}/api/v1/hosts/gpu-a/maintenance`;
    assert.equal((await call('POST', url, { for: '1s', comment: 'reboot' }, ADMIN_TOKEN)).status, 200);
    let ended: { actor: string; target: string; outcome: string; detail: { comment: string; by: string; until: string } } | undefined;
    for (let i = 0; i < 100 && !ended; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { body } = await getJson(`${t.coord.url}/api/v1/audit?action=maintenance.ended`, ADMIN_TOKEN);
      ended = body.entries[0];
    }
    assert.ok(ended, 'maintenance.ended recorded within 10 s');
    assert.deepEqual([ended.actor, ended.target, ended.outcome, ended.detail.comment, ended.detail.by], ['system', 'gpu-a', 'ok', 'reboot', 'auth.adminTokens[0]']);
  } finally {
    await agent.closeAndWait();
    await t.close();
  }
});
