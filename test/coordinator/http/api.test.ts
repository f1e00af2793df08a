import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseSince } from '../../../coordinator/http/api.js';
import { T0, event, events, probes, snapshot } from '../protocol-samples.js';
import { unwritableDb } from '../store/unwritable-db.js';
import { ADMIN_TOKEN, AGENT_TOKEN, TestAgent, VIEWER_TOKEN, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../helpers.js';

describe('HTTP API (open: no viewer tokens)', () => {
  let t: TestCoordinator;
  let base: string;
  let agent: TestAgent;
  before(async () => {
    t = await startTestCoordinator();
    base = t.coord.url;
    ({ agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a', 'boot1'));
    agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
    agent.send(probes(T0 + 500));
    agent.send(
      events([
        event(1, { to: 'down', service: 'llama', reason: 'refused' }),
        event(2, { type: 'restart_started', to: undefined, service: 'llama' }),
        event(3, { to: 'degraded', service: 'qwen', reason: 'served by fallback <b>' }),
      ]),
    );
    await agent.ackedUpTo(3);
  });
  after(async () => {
    await agent.closeAndWait();
    await t.close();
  });

  test('GET /healthz', async () => {
    const r = await getJson(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', version: 'test', connectedAgents: 1, checks: { store: { ok: true } } });
    assert.match(r.headers.get('content-type')!, /application\/json/);
  });

  test('GET /readyz', async () => {
    const r = await getJson(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ready', checks: { store: { ok: true }, listener: { ok: true } } });
  });

  test('GET /api/v1/fleet has exactly the docs/http-api.md shape', async () => {
    const r = await getJson(`${base}/api/v1/fleet`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['hosts']);
    const host = r.body.hosts[0];
    assert.deepEqual(Object.keys(host).sort(), ['connected', 'gpu', 'id', 'labels', 'lastSeen', 'maintenance', 'retired', 'services']);
    assert.equal(host.id, 'gpu-a');
    assert.equal(host.connected, true);
    assert.deepEqual(host.labels, { rack: 'r1', gpu: 'h100' });
    assert.ok(!Number.isNaN(Date.parse(host.lastSeen)));
    assert.equal(host.gpu.gpus[0].name, 'NVIDIA H100');
    const llama = host.services.find((s: { name: string }) => s.name === 'llama');
    assert.deepEqual(Object.keys(llama).sort(), ['kind', 'lastProbe', 'name', 'reason', 'restarts', 'state', 'url']);
    assert.deepEqual(Object.keys(llama.lastProbe).sort(), ['at', 'latencyMs', 'ok']);
    assert.deepEqual(Object.keys(llama.restarts).sort(), ['count', 'lastAt', 'lastOutcome']);
    assert.equal(llama.state, 'down');
    assert.equal(llama.restarts.count, 1);
    assert.equal(llama.lastProbe.latencyMs, 8);
  });

  test('GET /api/v1/events: oldest first, filters, since as ISO or epoch ms', async () => {
    let r = await getJson(`${base}/api/v1/events`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['events', 'next']);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [1, 2, 3]);
    assert.deepEqual(r.body.events[0], event(1, { to: 'down', service: 'llama', reason: 'refused' }), 'served as stored');

    r = await getJson(`${base}/api/v1/events?host=gpu-a&service=qwen`);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [3]);
    r = await getJson(`${base}/api/v1/events?host=nobody`);
    assert.deepEqual(r.body.events, []);
    r = await getJson(`${base}/api/v1/events?since=${new Date(T0 + 2000).toISOString()}`);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [2, 3]);
    r = await getJson(`${base}/api/v1/events?since=${T0 + 3000}`);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [3]);
    r = await getJson(`${base}/api/v1/events?since=${T0}&limit=1`);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [1]);
    r = await getJson(`${base}/api/v1/events?type=restart_started`);
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [2]);
  });

  test('GET /api/v1/events pages forward with after=next', async () => {
    const first = await getJson(`${base}/api/v1/events?since=${T0}&limit=2`);
    assert.deepEqual(first.body.events.map((e: { seq: number }) => e.seq), [1, 2]);
    assert.equal(typeof first.body.next, 'string');
    const second = await getJson(`${base}/api/v1/events?since=${T0}&limit=2&after=${first.body.next}`);
    assert.deepEqual(second.body.events.map((e: { seq: number }) => e.seq), [3]);
    const empty = await getJson(`${base}/api/v1/events?since=${T0}&after=${second.body.next}`);
    assert.deepEqual(empty.body, { events: [], next: null });
  });

  test('bad queries, unknown paths and wrong methods are JSON errors', async () => {
    for (const q of ['after=12', 'after=x-1', 'since=yesterday', 'since=2026-13-45T00:00:00Z', 'limit=0', 'limit=abc', 'limit=100000', 'type=nope', `host=${'x'.repeat(200)}`]) {
      const r = await getJson(`${base}/api/v1/events?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'bad_request');
      assert.equal(typeof r.body.error.message, 'string');
    }
    const nf = await getJson(`${base}/api/v1/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 'not_found');
    const res = await fetch(`${base}/api/v1/fleet`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('GET / lists the fleet in HTML, escaped, refreshing itself without scripts, loading only its own files, not to be framed', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    assert.equal(
      res.headers.get('content-security-policy'),
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      'no framing, nothing inline, nothing from elsewhere',
    );
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    assert.deepEqual([...html.matchAll(/<script[^>]*>/gi)].map((m) => m[0]), ['<script type="module" src="/ui/main.js">'], 'one module from this origin, no inline script');
    assert.ok(!/ style=/i.test(html), 'no inline styles: the policy refuses them');
    assert.match(html, /<noscript><meta http-equiv="refresh" content="5"><\/noscript>/, 'only a browser without JavaScript reloads');
    assert.match(html, /gpu-a/);
    assert.match(html, /llama/);
    assert.match(html, /served by fallback &#60;b&#62;/);
    assert.ok(!html.includes('<b>'));
  });
});

describe('HTTP API: an agent dating events in the future', () => {
  let t: TestCoordinator;
  after(() => t.close());

  test('2,000 events dated 2099 do not push another agent\'s real events out of the history', async () => {
    t = await startTestCoordinator();
    const { agent: flooder } = await TestAgent.hello(wsUrl(t.coord), 'gpu-flood', 'boot1');
    for (let batch = 0; batch < 2; batch++) {
      const seqs = Array.from({ length: 1000 }, (_, i) => batch * 1000 + i + 1);
      flooder.send(events(seqs.map((seq) => event(seq, { agentId: 'gpu-flood', at: new Date(Date.UTC(2099, 0, 1) + seq).toISOString() }))));
    }
    await flooder.ackedUpTo(2000);
    const { agent: real } = await TestAgent.hello(wsUrl(t.coord), 'gpu-real', 'boot1');
    const now = Date.now();
    real.send(events([1, 2, 3].map((seq) => event(seq, { agentId: 'gpu-real', at: new Date(now + seq).toISOString() }))));
    await real.ackedUpTo(3);

    const r = await getJson(`${t.coord.url}/api/v1/events`);
    assert.equal(r.status, 200);
    const reals = r.body.events.filter((e: { agentId: string }) => e.agentId === 'gpu-real');
    assert.deepEqual(reals.map((e: { seq: number }) => e.seq), [1, 2, 3], 'the real events are in the latest page');
    const flood = r.body.events.filter((e: { agentId: string }) => e.agentId === 'gpu-flood');
    assert.ok(flood.length > 0);
    for (const e of flood) {
      assert.ok(Date.parse(e.at) <= Date.now() + 5 * 60_000, `${e.at} is clamped to at most 5 min ahead`);
      assert.match(e.originalAt, /^2099-/);
    }
    await flooder.closeAndWait();
    await real.closeAndWait();
  });
});

describe('HTTP API: a store that cannot write', () => {
  test('/healthz answers 503 degraded and /readyz 503 once a write fails', async (t) => {
    const db = unwritableDb();
    if (typeof db === 'string') return t.skip(db);
    // A read-only file cannot be swapped under a running coordinator; only a disk can fill up.
    if (db.kind !== 'full disk') return (await db.cleanup(), t.skip(`needs a tmpfs to fill (${db.kind} only)`));
    const coord = await startTestCoordinator('', { store: db.store });
    try {
      assert.equal((await getJson(`${coord.coord.url}/healthz`)).status, 200);
      const { agent } = await TestAgent.hello(wsUrl(coord.coord), 'gpu-a', 'boot1');
      await db.breakIt();
      // the agent's batch hits the full disk: not acked, the connection closed for a retry
      agent.send(events(Array.from({ length: 200 }, (_, i) => event(i + 1, { reason: 'x'.repeat(1000) }))));
      assert.equal((await agent.closed).code, 1011);

      const health = await getJson(`${coord.coord.url}/healthz`);
      assert.equal(health.status, 503);
      assert.equal(health.body.status, 'degraded');
      assert.equal(health.body.checks.store.ok, false);
      assert.match(health.body.checks.store.error, /SQLITE_FULL/);
      const ready = await getJson(`${coord.coord.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'not_ready', checks: { store: health.body.checks.store, listener: { ok: true } } });
    } finally {
      await coord.close();
      await db.cleanup();
    }
  });
});

describe('HTTP API with viewer tokens', () => {
  let t: TestCoordinator;
  before(async () => {
    t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  });
  after(() => t.close());

  test('read endpoints want a viewer or admin token; /healthz stays open', async () => {
    const base = t.coord.url;
    for (const path of ['/api/v1/fleet', '/api/v1/events', '/']) {
      const none = await fetch(`${base}${path}`);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate')!, /^Bearer/);
      assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
      assert.equal((await getJson(`${base}${path}`, 'wrong')).status, 401, path);
      assert.equal((await getJson(`${base}${path}`, AGENT_TOKEN)).status, 401, `${path}: agent tokens are not viewer tokens`);
      assert.equal((await getJson(`${base}${path}`, VIEWER_TOKEN)).status, 200, path);
      assert.equal((await getJson(`${base}${path}`, ADMIN_TOKEN)).status, 200, path);
    }
    assert.equal((await getJson(`${base}/healthz`)).status, 200);
  });
});

test('parseSince: ISO 8601 or epoch milliseconds', () => {
  assert.equal(parseSince('1767225600000'), 1767225600000);
  assert.equal(parseSince('2026-01-01T00:00:00Z'), Date.UTC(2026, 0, 1));
  assert.equal(parseSince('2026-01-01T02:00:00+02:00'), Date.UTC(2026, 0, 1));
  assert.equal(parseSince('2026-01-01'), Date.UTC(2026, 0, 1));
  for (const bad of ['', 'now', '-5', '1e12', '2026-01-01T00:00:00Zjunk', '2026-02-30T99:00:00Z']) assert.equal(parseSince(bad), undefined, bad);
});
