import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, VIEWER_TOKEN, startTestCoordinator, type TestCoordinator } from '../helpers.js';

const form = (token: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString(), redirect: 'manual' as const });

describe('dashboard login (viewer tokens set)', () => {
  let t: TestCoordinator;
  let base: string;
  before(async () => {
    t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
    base = t.coord.url;
  });
  after(() => t.close());

  test('a browser without a token is sent to the login form; API clients still get a JSON 401', async () => {
    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login');
    const api = await fetch(`${base}/api/v1/fleet`);
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'unauthorized');
    const login = await fetch(`${base}/login`);
    assert.equal(login.status, 200);
    assert.match(await login.text(), /<form method="post" action="\/login">/);
  });

  test('a wrong token is refused without a cookie; a viewer token gets an HttpOnly, SameSite=Strict session', async () => {
    const wrong = await fetch(`${base}/login`, form('not-a-token'));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /not a viewer or admin token/);

    const ok = await fetch(`${base}/login`, form(VIEWER_TOKEN));
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/');
    const cookie = ok.headers.get('set-cookie')!;
    assert.match(cookie, /^llmh_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/, 'no Secure over plain http');
    const session = cookie.split(';')[0]!;

    const page = await fetch(`${base}/`, { headers: { cookie: session, accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /llm-health fleet/);
    assert.equal((await fetch(`${base}/api/v1/fleet`, { headers: { cookie: session } })).status, 200);
    assert.equal((await fetch(`${base}/api/v1/events`, { headers: { cookie: session } })).status, 200);
    assert.ok(!t.logs().includes(VIEWER_TOKEN), 'the token is never logged');
  });

  test('a session only reads: admin routes still want an admin Bearer token, even after an admin login', async () => {
    const ok = await fetch(`${base}/login`, form(ADMIN_TOKEN));
    const session = ok.headers.get('set-cookie')!.split(';')[0]!;
    const del = await fetch(`${base}/api/v1/hosts/gpu-x`, { method: 'DELETE', headers: { cookie: session } });
    assert.equal(del.status, 401);
    const silence = await fetch(`${base}/api/v1/silences`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(silence.status, 401);
  });

  test('logout ends the session: the old cookie no longer reads', async () => {
    const ok = await fetch(`${base}/login`, form(VIEWER_TOKEN));
    const session = ok.headers.get('set-cookie')!.split(';')[0]!;
    const out = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie: session }, redirect: 'manual' });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^llmh_session=; .*Max-Age=0/);
    assert.equal((await fetch(`${base}/api/v1/fleet`, { headers: { cookie: session } })).status, 401);
    assert.equal((await fetch(`${base}/api/v1/fleet`, { headers: { cookie: 'llmh_session=forged' } })).status, 401);
  });

  test('bad login requests: not a form (415), oversized (413)', async () => {
    assert.equal((await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":"x"}' })).status, 415);
    const big = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${'x'.repeat(10_000)}` });
    assert.equal(big.status, 413);
  });
});

test('with an open read API there is no login', async () => {
  const t = await startTestCoordinator();
  try {
    assert.equal((await fetch(`${t.coord.url}/login`)).status, 404);
    assert.equal((await fetch(`${t.coord.url}/`, { headers: { accept: 'text/html' } })).status, 200);
  } finally {
    await t.close();
  }
});
