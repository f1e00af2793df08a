import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, AGENT_TOKEN, VIEWER_TOKEN, TestAgent, eventually, getJson, startTestCoordinator, wsUrl } from '../helpers.js';

const ADMIN = 'auth.adminTokens[0]';

async function call(method: string, url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

test('GET /api/v1/audit: admin only (401 without a token, 403 for a viewer), 400 for a bad query', async () => {
  const t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  try {
    const url = `${t.coord.url}/api/v1/audit`;
    assert.equal((await getJson(url)).status, 401);
    assert.equal((await getJson(url, VIEWER_TOKEN)).status, 403);
    assert.equal((await getJson(`${url}?limit=0`, ADMIN_TOKEN)).status, 400);
    assert.equal((await getJson(`${url}?since=yesterday`, ADMIN_TOKEN)).status, 400);
    assert.equal((await getJson(`${url}?action=DROP%20TABLE`, ADMIN_TOKEN)).status, 400);
    const ok = await getJson(`${url}?limit=5`, ADMIN_TOKEN);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { entries: [] }, 'reading the audit log is not itself audited');
  } finally {
    await t.close();
  }
});

test('the audit log holds every step of a restart job under the token name, refused calls, silences and forgotten hosts; never a token', async () => {
  const t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  const { agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a');
  try {
    const base = `${t.coord.url}/api/v1`;
    assert.equal((await call('POST', `${base}/restarts`, { selector: { hosts: ['*'] } }, VIEWER_TOKEN)).status, 403);
    assert.equal((await call('POST', `${base}/restarts`, { selector: { hosts: ['*'] } })).status, 401);
    const created = await call('POST', `${base}/restarts`, { selector: { services: ['llama'] }, reason: 'new weights' }, ADMIN_TOKEN);
    assert.equal(created.status, 202);
    const cmd = await agent.next('command');
    const now = Date.now();
    agent.send({ type: 'events', v: 1, events: [
      { agentId: 'gpu-a', bootId: 'boot1', seq: 1, at: new Date(now).toISOString(), type: 'command_result', service: 'llama', reason: 'restarted', data: { id: cmd.id, ok: true } },
      { agentId: 'gpu-a', bootId: 'boot1', seq: 2, at: new Date(now + 1).toISOString(), type: 'state_changed', service: 'llama', from: 'starting', to: 'healthy', reason: 'ready' },
    ] });
    await eventually(async () => (await getJson(`${base}/restarts/${created.body.id}`, ADMIN_TOKEN)).body.state === 'succeeded', 5000, 'job succeeded');

    const silence = await call('POST', `${base}/silences`, { matchers: [{ name: 'host', value: 'gpu-a' }], duration: '1h', comment: 'c', createdBy: 'ops' }, ADMIN_TOKEN);
    assert.equal(silence.status, 201);
    assert.equal((await call('DELETE', `${base}/silences/${silence.body.id}`, undefined, ADMIN_TOKEN)).status, 200);
    assert.equal((await call('DELETE', `${base}/hosts/gpu-a`, undefined, ADMIN_TOKEN)).status, 409, 'connected: refused');

    let rows: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    await eventually(async () => (rows = (await getJson(`${base}/audit?limit=100`, ADMIN_TOKEN)).body.entries).length >= 11, 5000, 'audit rows');
    const story = rows.reverse().map((r) => `${r.action} ${r.actor} ${r.outcome}${r.status && r.outcome !== 'ok' ? ` ${r.status}` : ''}`);
    assert.deepEqual(story, [
      'restart.create viewer token refused 403',
      'restart.create anonymous refused 401',
      `restart.create ${ADMIN} ok`,
      'restart.target.sent system ok',
      'restart.job.running system ok',
      'restart.target.result system ok',
      'restart.target.healthy system ok',
      'restart.job.succeeded system ok',
      `silence.create ${ADMIN} ok`,
      `silence.expire ${ADMIN} ok`,
      `host.forget ${ADMIN} refused 409`,
    ]);
    const jobRows = rows.filter((r) => r.action.startsWith('restart.') && r.outcome === 'ok');
    for (const r of jobRows) assert.ok(r.actor === ADMIN || r.detail.createdBy === ADMIN, `${r.action} names the token that created the job`);
    assert.equal(rows.find((r) => r.action === 'restart.target.sent').target, 'gpu-a/llama');
    assert.equal(rows[2].target, created.body.id);
    assert.equal(rows[2].remote, '127.0.0.1');
    const onlyCreate = (await getJson(`${base}/audit?action=restart.create`, ADMIN_TOKEN)).body.entries;
    assert.equal(onlyCreate.length, 3);
    assert.equal((await getJson(`${base}/audit?action=restart.target.*`, ADMIN_TOKEN)).body.entries.length, 3);

    // secrets never reach the log: neither the API answer nor the stored rows hold a token
    const raw = JSON.stringify(rows) + JSON.stringify(await t.coord.store.audit.listAudit({ limit: 1000 }));
    for (const secret of [ADMIN_TOKEN, VIEWER_TOKEN, AGENT_TOKEN, 'Bearer']) assert.ok(!raw.includes(secret), `audit rows hold ${secret}`);
  } finally {
    await agent.closeAndWait();
    await t.close();
  }
});
