import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, VIEWER_TOKEN, TestAgent, getJson, startTestCoordinator, wsUrl } from '../helpers.js';

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
