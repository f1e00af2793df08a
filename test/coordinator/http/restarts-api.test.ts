import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, TestAgent, getJson, startTestCoordinator, wsUrl } from '../helpers.js';
import { event, events } from '../protocol-samples.js';

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('restart jobs over HTTP: auth, dry run, create, the command on the agent link, 409 for a busy target, abort', async () => {
  const t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  const { agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a');
  try {
    const url = `${t.coord.url}/api/v1/restarts`;
    const body = { selector: { hosts: ['gpu-*'] }, reason: 'new weights' };
    assert.equal((await post(url, body)).status, 401);
    assert.equal((await post(url, body, VIEWER_TOKEN)).status, 403);
    assert.equal((await post(url, { selector: {} }, ADMIN_TOKEN)).status, 400, 'an empty selector restarts nothing by omission');
    assert.equal((await post(url, { ...body, maxParallel: 0 }, ADMIN_TOKEN)).status, 400);

    const dry = await post(url, { ...body, dryRun: true }, ADMIN_TOKEN);
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.body, { dryRun: true, targets: [{ host: 'gpu-a', service: 'llama', unit: 'llama.service' }, { host: 'gpu-a', service: 'qwen', unit: 'qwen.service' }] });
    assert.equal((await getJson(url, ADMIN_TOKEN)).body.jobs.length, 0, 'a dry run creates nothing');

    const created = await post(url, body, ADMIN_TOKEN);
    assert.equal(created.status, 202);
    assert.equal(created.body.targets.length, 2);
    const cmd = await agent.next('command');
    assert.deepEqual({ action: cmd.action, service: cmd.service }, { action: 'restart', service: 'llama' });

    assert.equal((await post(url, { selector: { services: ['qwen'] } }, ADMIN_TOKEN)).status, 409);

    const job = await getJson(`${url}/${created.body.id}`, VIEWER_TOKEN);
    assert.equal(job.status, 200);
    assert.equal(job.body.state, 'running');
    assert.equal(job.body.createdBy, 'auth.adminTokens[0]');
    assert.deepEqual(job.body.targets.map((x: { state: string }) => x.state), ['restarting', 'pending']);

    const del = await fetch(`${url}/${created.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    assert.equal(del.status, 403);
    const aborted = await fetch(`${url}/${created.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const view = (await aborted.json()) as { abortRequested: boolean; targets: { state: string }[] };
    assert.equal(aborted.status, 200);
    assert.equal(view.abortRequested, true);
    assert.deepEqual(view.targets.map((x) => x.state), ['restarting', 'skipped']);
    assert.equal((await getJson(`${url}/nope`, VIEWER_TOKEN)).status, 404);
  } finally {
    await agent.closeAndWait();
    await t.close();
  }
});

test('close() waits for a restart job step in flight before it returns (and before it would close the store)', async () => {
  const store = SqliteStore.open(':memory:');
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const t = await startTestCoordinator('', { store });
  const { agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a');
  try {
    assert.equal((await post(`${t.coord.url}/api/v1/restarts`, { selector: { hosts: ['gpu-a'] } }, ADMIN_TOKEN)).status, 202);
    const cmd = await agent.next('command');
    // the step the agent's answer starts (no API call, so nothing else holds close() back)
    let entered = false;
    const updateJob = store.jobs.updateJob.bind(store.jobs);
    store.jobs.updateJob = async (...args) => {
      entered = true;
      await gate;
      await updateJob(...args);
      order.push('step stored');
    };
    agent.send(events([event(1, { type: 'command_result', service: cmd.service, from: undefined, to: undefined, at: new Date().toISOString(), reason: 'restarted', data: { id: cmd.id, ok: true } })]));
    await waitUntil(() => entered, 'the job step to start its write');
    const closed = t.coord.close().then(() => order.push('closed'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(order, [], 'close() still waits for the step');
    release();
    await closed;
    assert.deepEqual(order, ['step stored', 'closed']);
  } finally {
    release();
    await agent.closeAndWait().catch(() => undefined);
    await t.close();
    await store.close();
  }
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}
