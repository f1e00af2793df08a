import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../shared/clock.js';
import { silentLogger } from '../../../shared/logger.js';
import { TokenSet } from '../../../coordinator/auth.js';
import { SilenceCache } from '../../../coordinator/delivery/silence-cache.js';
import { registerSilenceRoutes } from '../../../coordinator/http/silences-api.js';
import { Router } from '../../../coordinator/http/router.js';
import { createHttpServer } from '../../../coordinator/http/server.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const ADMIN = 'admin-token-silences';
const VIEWER = 'viewer-token-silences';
const iso = (ms: number) => new Date(ms).toISOString();

interface Api {
  base: string;
  clock: FakeClock;
  changes: number;
  cache: SilenceCache;
  store: SqliteStore;
  close(): Promise<void>;
}

const DAY = 86_400_000;

async function startApi(viewerTokens: string[] = [], maxDuration = 30 * DAY): Promise<Api> {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-silences-'));
  const store = SqliteStore.open(join(dir, 'llm-health.db'));
  const clock = new FakeClock(T0);
  const router = new Router({ viewerTokens: new TokenSet(viewerTokens), adminTokens: new TokenSet([ADMIN]) }, silentLogger());
  let n = 0;
  const cache = new SilenceCache(store.silences, clock);
  await cache.load();
  const api: Api = {
    base: '',
    clock,
    changes: 0,
    cache,
    store,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  registerSilenceRoutes(router, { store: store.silences, clock, logger: silentLogger(), maxDuration, newId: () => `sil-${++n}`, onChange: (s) => {
      api.changes++;
      cache.put(s);
    },
  });
  const server: Server = createHttpServer(router, new Map());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  api.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

async function call(method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const valid = { matchers: ['service=qwen-vl', 'host=~gpu-.*'], duration: '2h', comment: 'driver upgrade', createdBy: 'alice' };

describe('silences API with silences.maxDuration: 2h', () => {
  let api: Api;
  before(async () => {
    api = await startApi([], 2 * 3_600_000);
  });
  after(() => api.close());

  test('3h is refused naming 2h; 2h is accepted', async () => {
    const over = await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, duration: '3h' });
    assert.equal(over.status, 400);
    assert.match(over.body.error.message, /^duration: a silence lasts at most 2h \(silences.maxDuration\), this one 3h$/);
    assert.equal((await call('POST', `${api.base}/api/v1/silences`, ADMIN, valid)).status, 201);
  });
});

describe('silences API (open reads)', () => {
  let api: Api;
  before(async () => {
    api = await startApi();
  });
  after(() => api.close());

  test('create, read, list, expire', async () => {
    const created = await call('POST', `${api.base}/api/v1/silences`, ADMIN, valid);
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, { id: 'sil-1' });
    assert.equal(created.headers.get('location'), '/api/v1/silences/sil-1');
    assert.equal(api.changes, 1);

    const expected = {
      id: 'sil-1',
      state: 'active',
      matchers: [
        { name: 'service', value: 'qwen-vl', isRegex: false, isEqual: true },
        { name: 'host', value: 'gpu-.*', isRegex: true, isEqual: true },
      ],
      startsAt: iso(T0),
      endsAt: iso(T0 + 2 * 3_600_000),
      createdBy: 'alice',
      comment: 'driver upgrade',
      createdAt: iso(T0),
      updatedAt: iso(T0),
    };
    assert.deepEqual((await call('GET', `${api.base}/api/v1/silences/sil-1`)).body, expected);
    const listed = await call('GET', `${api.base}/api/v1/silences`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, { silences: [expected] });

    await api.clock.advance(60_000);
    const expired = await call('DELETE', `${api.base}/api/v1/silences/sil-1`, ADMIN);
    assert.equal(expired.status, 200);
    assert.equal(expired.body.state, 'expired');
    assert.equal(expired.body.endsAt, iso(T0 + 60_000));
    assert.equal(api.changes, 2);
    assert.deepEqual((await call('GET', `${api.base}/api/v1/silences`)).body, { silences: [] }, 'expired ones are hidden by default');
    const all = await call('GET', `${api.base}/api/v1/silences?all=1`);
    assert.deepEqual(all.body.silences.map((s: { id: string; state: string }) => [s.id, s.state]), [['sil-1', 'expired']]);

    await api.clock.advance(60_000);
    const again = await call('DELETE', `${api.base}/api/v1/silences/sil-1`, ADMIN);
    assert.equal(again.status, 200, 'expiring twice is fine');
    assert.equal(again.body.endsAt, iso(T0 + 60_000), 'and changes nothing');

    const missing = await call('DELETE', `${api.base}/api/v1/silences/nope`, ADMIN);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    assert.equal((await call('GET', `${api.base}/api/v1/silences/nope`)).status, 404);
  });

  test('a future start is a pending maintenance window; expiring it means it never starts', async () => {
    const now = api.clock.now();
    const r = await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, startsAt: iso(now + 3_600_000), duration: undefined, endsAt: now + 7_200_000 });
    assert.equal(r.status, 201);
    const s = (await call('GET', `${api.base}/api/v1/silences/${r.body.id}`)).body;
    assert.equal(s.state, 'pending');
    assert.equal(s.startsAt, iso(now + 3_600_000));
    assert.equal(s.endsAt, iso(now + 7_200_000));
    assert.ok((await call('GET', `${api.base}/api/v1/silences`)).body.silences.some((x: { id: string }) => x.id === r.body.id), 'pending ones are listed');
    const e = await call('DELETE', `${api.base}/api/v1/silences/${r.body.id}`, ADMIN);
    assert.equal(e.body.state, 'expired');
    assert.equal(e.body.startsAt, iso(now));
    assert.equal(e.body.endsAt, iso(now));
  });

  test('a start in the past becomes now; object matchers are accepted with defaults', async () => {
    const now = api.clock.now();
    const r = await call('POST', `${api.base}/api/v1/silences`, ADMIN, {
      matchers: [{ name: 'alertname', value: 'LLMGpuUnhealthy' }, { name: 'host', value: 'gpu-b', isEqual: false }],
      startsAt: iso(now - 3_600_000),
      duration: 90 * 60_000,
      comment: '  reboot  ',
      createdBy: 'bob',
    });
    assert.equal(r.status, 201);
    const s = (await call('GET', `${api.base}/api/v1/silences/${r.body.id}`)).body;
    assert.equal(s.startsAt, iso(now));
    assert.equal(s.endsAt, iso(now + 90 * 60_000));
    assert.equal(s.comment, 'reboot');
    assert.deepEqual(s.matchers, [
      { name: 'alertname', value: 'LLMGpuUnhealthy', isRegex: false, isEqual: true },
      { name: 'host', value: 'gpu-b', isRegex: false, isEqual: false },
    ]);
  });

  test('invalid requests are 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...valid, matchers: undefined }, /^matchers:/],
      [{ ...valid, matchers: [] }, /^matchers:/],
      [{ ...valid, matchers: 'service=qwen-vl' }, /^matchers:/],
      [{ ...valid, matchers: ['service'] }, /^matchers\[0\]: invalid matcher/],
      [{ ...valid, matchers: ['service=qwen-vl', '9x=1'] }, /^matchers\[1\]: invalid label name/],
      [{ ...valid, matchers: ['host=~(?=gpu)g.*'] }, /^matchers\[0\]: regex matcher host=~"\(\?=gpu\)g\.\*": lookaround .* not supported in RE2 syntax/],
      [{ ...valid, matchers: ['host=~(?<!x)gpu'] }, /^matchers\[0\]: regex matcher host=~"\(\?<!x\)gpu": lookaround/],
      [{ ...valid, matchers: ['host=~(gpu)-\\1'] }, /^matchers\[0\]: regex matcher host=~.*: backreferences .* not supported in RE2 syntax/],
      [{ ...valid, matchers: [{ name: 'host', value: '\\u0067pu', isRegex: true }] }, /^matchers\[0\]: regex matcher host=~.*: not valid RE2 syntax/],
      [{ ...valid, matchers: ['host=~gpu-['] }, /^matchers\[0\]: regex matcher host=~"gpu-\[": not valid RE2 syntax: missing closing \]/],
      [{ ...valid, matchers: [`host=~${'a'.repeat(300)}`] }, /^matchers\[0\]: regex matcher host=~.*: too long/],
      [{ ...valid, matchers: [{ name: 'host', value: 'x', extra: 1 }] }, /^matchers\[0\]: unknown field/],
      [{ ...valid, matchers: [{ name: 'host', value: 1 }] }, /^matchers\[0\]:/],
      [{ ...valid, matchers: ['host=~.*', 'service!=x'] }, /^matchers: at least one matcher must not match an empty/],
      [{ ...valid, matchers: Array.from({ length: 40 }, (_, i) => `l${i}=x`) }, /^matchers: at most/],
      [{ ...valid, duration: undefined }, /^endsAt: required/],
      [{ ...valid, endsAt: iso(T0 + 1e7) }, /^duration: give endsAt or duration, not both/],
      [{ ...valid, duration: 'soon' }, /^duration:/],
      [{ ...valid, duration: '0s' }, /^duration:/],
      [{ ...valid, duration: '400d' }, /^duration: a silence lasts at most/],
      [{ ...valid, duration: undefined, endsAt: iso(T0 - 1000) }, /^endsAt: must be after startsAt/],
      [{ ...valid, duration: undefined, endsAt: 'tomorrow' }, /^endsAt: expected an ISO 8601/],
      [{ ...valid, startsAt: 'later' }, /^startsAt:/],
      [{ ...valid, comment: undefined }, /^comment: required/],
      [{ ...valid, comment: '   ' }, /^comment: required/],
      [{ ...valid, comment: 'x'.repeat(1001) }, /^comment: at most 1000/],
      [{ ...valid, createdBy: undefined }, /^createdBy: required/],
      [{ ...valid, creator: 'alice' }, /^creator: unknown field/],
      [[valid], /^body: expected a JSON object/],
      ['{"matchers": [', /^body: not valid JSON/],
      ['', /^body:/],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', `${api.base}/api/v1/silences`, ADMIN, body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 200));
      assert.equal(r.body.error.code, 'bad_request');
      assert.match(r.body.error.message, message, JSON.stringify(body).slice(0, 200));
    }
    const big = await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, comment: 'x'.repeat(70_000) });
    assert.equal(big.status, 413);
    assert.equal((await call('GET', `${api.base}/api/v1/silences?all=maybe`)).status, 400);
  });

  test('a silence longer than silences.maxDuration (30d by default) is a 400 naming the limit', async () => {
    const over = await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, duration: '31d' });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.message, 'duration: a silence lasts at most 30d (silences.maxDuration), this one 31d');
    const byEnd = await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, duration: undefined, endsAt: iso(api.clock.now() + 30 * DAY + 1000) });
    assert.match(byEnd.body.error.message, /^endsAt: a silence lasts at most 30d \(silences.maxDuration\)/);
    assert.equal((await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, duration: '30d' })).status, 201, 'the limit itself is allowed');
  });

  test('changes need the admin token: none → 401, a viewer token → 403; reads are open', async () => {
    const none = await call('POST', `${api.base}/api/v1/silences`, undefined, valid);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal((await call('POST', `${api.base}/api/v1/silences`, 'wrong-token', valid)).status, 401);
    const created = await call('POST', `${api.base}/api/v1/silences`, ADMIN, valid);
    assert.equal((await call('DELETE', `${api.base}/api/v1/silences/${created.body.id}`)).status, 401);
    assert.equal((await call('GET', `${api.base}/api/v1/silences`)).status, 200);
    assert.equal((await call('GET', `${api.base}/api/v1/silences/${created.body.id}`)).body.state, 'active', 'nothing changed');
  });

  test('the alert pipeline\'s silence cache follows the API at once, and reloads from the store', async () => {
    const ids = () => api.cache.all().map((s) => s.id).sort();
    const before = ids();
    const now = api.clock.now();
    const a = (await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, duration: '10m' })).body.id as string;
    const b = (await call('POST', `${api.base}/api/v1/silences`, ADMIN, { ...valid, startsAt: iso(now + 3_600_000) })).body.id as string;
    assert.deepEqual(ids(), [...before, a, b].sort(), 'active and pending');
    await call('DELETE', `${api.base}/api/v1/silences/${b}`, ADMIN);
    assert.ok(!ids().includes(b), 'expired through the API: gone');
    await api.clock.advance(10 * 60_000);
    assert.ok(!ids().includes(a), 'ended by time: gone');
    const fresh = new SilenceCache(api.store.silences, api.clock);
    await fresh.load();
    assert.deepEqual(fresh.all().map((s) => s.id).sort(), ids());
  });
});

describe('silences API with viewer tokens', () => {
  let api: Api;
  before(async () => {
    api = await startApi([VIEWER]);
  });
  after(() => api.close());

  test('viewers read but may not change; anonymous callers may do neither', async () => {
    assert.equal((await call('GET', `${api.base}/api/v1/silences`)).status, 401);
    assert.equal((await call('GET', `${api.base}/api/v1/silences`, VIEWER)).status, 200);
    assert.equal((await call('GET', `${api.base}/api/v1/silences`, ADMIN)).status, 200, 'admins read too');
    const denied = await call('POST', `${api.base}/api/v1/silences`, VIEWER, valid);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'forbidden');
    const created = await call('POST', `${api.base}/api/v1/silences`, ADMIN, valid);
    assert.equal(created.status, 201);
    assert.equal((await call('DELETE', `${api.base}/api/v1/silences/${created.body.id}`, VIEWER)).status, 403);
    assert.equal((await call('DELETE', `${api.base}/api/v1/silences/${created.body.id}`)).status, 401);
    assert.equal((await call('GET', `${api.base}/api/v1/silences/${created.body.id}`, VIEWER)).body.state, 'active');
    assert.equal(api.changes, 1);
  });
});
