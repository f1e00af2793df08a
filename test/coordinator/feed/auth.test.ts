import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FeedClient } from '../../../bench/lib/feed-client.js';
import { FEED_SUBPROTOCOL } from '../../../shared/feed/messages.js';
import { ADMIN_TOKEN, startTestCoordinator, VIEWER_TOKEN } from '../helpers.js';

/** The HTTP status of a refused upgrade; rejects when the upgrade is accepted. */
function refusal(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('feed upgrade unexpectedly accepted'));
    });
    ws.on('error', () => undefined);
  });
}

async function login(base: string, token: string): Promise<string> {
  const res = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
  assert.equal(res.status, 303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

test('feed auth with viewer tokens: subprotocol bearer token or session cookie; refused without; never from the URL', async () => {
  const tc = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  const base = tc.coord.url;
  const feedUrl = `${base.replace(/^http/, 'ws')}/api/v1/feed`;
  try {
    const viewer = await FeedClient.connect(base, { token: VIEWER_TOKEN });
    assert.equal(viewer.ws.protocol, FEED_SUBPROTOCOL, 'only the version subprotocol is echoed, never the token');
    await viewer.waitFor(() => viewer.snapshots === 1, 5000, 'snapshot');
    viewer.close();
    const admin = await FeedClient.connect(base, { token: ADMIN_TOKEN });
    admin.close();

    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL]), 401, 'no token, no session');
    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL, 'bearer.not-a-token']), 401, 'unknown token');
    assert.equal(await refusal(`${feedUrl}?token=${VIEWER_TOKEN}`, [FEED_SUBPROTOCOL]), 401, 'a token in the query is ignored');
    assert.equal(await refusal(`${feedUrl}?access_token=${VIEWER_TOKEN}`, [FEED_SUBPROTOCOL]), 401);
    assert.equal(await refusal(feedUrl, [`bearer.${VIEWER_TOKEN}`]), 400, 'the version subprotocol is required');

    const cookie = await login(base, VIEWER_TOKEN);
    const browser = await FeedClient.connect(base, { headers: { cookie, origin: base } });
    await browser.waitFor(() => browser.snapshots === 1, 5000, 'snapshot over a session');
    browser.close();
    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL], { cookie, origin: 'http://evil.example' }), 403, 'another site riding the cookie');
    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL], { cookie: 'llmh_session=forged' }), 401);
    assert.ok(!tc.logs().includes(VIEWER_TOKEN), 'the token is never logged');
  } finally {
    await tc.close();
  }
});

test('feed in open mode: no token needed; the Host guard still applies; at most feed.maxClients', async () => {
  const tc = await startTestCoordinator('feed: { maxClients: 2 }');
  const base = tc.coord.url;
  const feedUrl = `${base.replace(/^http/, 'ws')}/api/v1/feed`;
  try {
    const a = await FeedClient.connect(base);
    const b = await FeedClient.connect(base);
    await a.waitFor(() => a.snapshots === 1, 5000, 'snapshot');
    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL]), 503, 'over maxClients');
    assert.equal(tc.coord.feed.clientCount, 2);
    a.close();
    await a.closed;
    await b.waitFor(() => tc.coord.feed.clientCount === 1, 5000, 'the closed client to go');
    const c = await FeedClient.connect(base);
    c.close();
    b.close();
    assert.equal(await refusal(feedUrl, [FEED_SUBPROTOCOL], { host: 'evil.example' }), 403, 'DNS rebinding guard');
  } finally {
    await tc.close();
  }
});

test('feed: a client may send heartbeats only; anything else closes it', async () => {
  const tc = await startTestCoordinator();
  try {
    const c = await FeedClient.connect(tc.coord.url);
    c.ws.send(JSON.stringify({ type: 'heartbeat', v: 1 }));
    c.ws.send(JSON.stringify({ type: 'subscribe', v: 1 }));
    const closed = await c.closed;
    assert.equal(closed.code, 4400);
  } finally {
    await tc.close();
  }
});

test('feed: a plain GET /api/v1/feed answers 426 (the dashboard tells "feed here" from "older coordinator" by it), viewer access', async () => {
  const tc = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  try {
    const anonymous = await fetch(`${tc.coord.url}/api/v1/feed`);
    assert.equal(anonymous.status, 401, 'a lapsed login is told apart from a missing feed');
    const res = await fetch(`${tc.coord.url}/api/v1/feed`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    const body = (await res.json()) as { error: { code: string }; subprotocols: string[] };
    assert.equal(body.error.code, 'upgrade_required');
    assert.deepEqual(body.subprotocols, [FEED_SUBPROTOCOL]);
  } finally {
    await tc.close();
  }
});
