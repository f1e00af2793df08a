import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { hostChecker } from '../../../coordinator/http/host-check.js';
import { AGENT_TOKEN, VIEWER_TOKEN, expectUpgradeRefused, requestText, startTestCoordinator, TestAgent, wsUrl } from '../helpers.js';

const open = { auth: { agentTokens: [{ token: 'a', agents: null, source: 'auth.agentTokens[0]' }], adminTokens: [], viewerTokens: [], evidenceWithoutToken: false }, listen: { host: '0.0.0.0', port: 7700 }, http: { allowedHosts: ['status.example.com'] } };

test('open mode accepts IP literals, loopback names, allowedHosts and the externalUrl host; nothing else', () => {
  const allowed = hostChecker({ ...open, externalUrl: 'https://dash.example.org' })!;
  for (const host of ['127.0.0.1:7700', '10.1.2.3:7700', '[::1]:7700', '[fe80::1]', 'localhost:7700', 'LOCALHOST', 'app.localhost', 'status.example.com:7700', 'Status.Example.com.', 'dash.example.org', undefined]) {
    assert.equal(allowed(host), true, String(host));
  }
  for (const host of ['evil.example:7700', 'status.example.com.evil.example', '127.0.0.1.nip.io', 'a b', 'x:y:z']) assert.equal(allowed(host), false, host);
});

test('no Host check when viewer tokens are configured: reading needs a token anyway', () => {
  assert.equal(hostChecker({ ...open, auth: { ...open.auth, viewerTokens: ['v'] } }), undefined);
});

const get = (port: number, path: string, host: string, token?: string) =>
  requestText(request, { host: '127.0.0.1', port, path, headers: { host, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

test('open mode: a rebound name gets 403 with a JSON error on HTTP and feed upgrades; agents are not affected', async () => {
  const t = await startTestCoordinator('http: { allowedHosts: [fleet.internal] }');
  const port = t.coord.port;
  try {
    const refused = await get(port, '/api/v1/fleet', `evil.example:${port}`);
    assert.equal(refused.status, 403);
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'host_not_allowed');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `fleet.internal:${port}`]) assert.equal((await get(port, '/api/v1/fleet', host)).status, 200, host);
    const feed = `ws://127.0.0.1:${port}/api/v1/feed`;
    assert.equal(await expectUpgradeRefused(feed, { host: `evil.example:${port}` }), 403);
    assert.equal(await expectUpgradeRefused(feed, { host: `localhost:${port}` }), 400, 'allowed Host: on to the feed, which wants its subprotocol');
    const agent = await TestAgent.connect(wsUrl(t.coord), AGENT_TOKEN, { headers: { authorization: `Bearer ${AGENT_TOKEN}`, host: `coordinator.lan:${port}` } });
    await agent.closeAndWait();
  } finally {
    await t.close();
  }
});

test('with viewer tokens any Host reaches the token check', async () => {
  const t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  const port = t.coord.port;
  try {
    assert.equal((await get(port, '/api/v1/fleet', `evil.example:${port}`)).status, 401);
    assert.equal((await get(port, '/api/v1/fleet', `evil.example:${port}`, VIEWER_TOKEN)).status, 200);
  } finally {
    await t.close();
  }
});
