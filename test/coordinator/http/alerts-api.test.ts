import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../shared/logger.js';
import type { AlertStatusView, Notification } from '../../../coordinator/alerts/types.js';
import { TokenSet } from '../../../coordinator/auth.js';
import { registerAlertRoutes, type ReceiverDeliveryStatus } from '../../../coordinator/http/alerts-api.js';
import { Router } from '../../../coordinator/http/router.js';
import { createHttpServer } from '../../../coordinator/http/server.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1);
const VIEWER = 'viewer-token-alerts';
const iso = (ms: number) => new Date(ms).toISOString();

let base: string;
let store: SqliteStore;
let close: () => Promise<void>;
let views: AlertStatusView[] = [];

function view(fingerprint: string, startsAt: number, state: AlertStatusView['state'], extra: Partial<AlertStatusView> = {}): AlertStatusView {
  return {
    alert: {
      fingerprint,
      labels: { alertname: 'LLMServiceDown', host: 'gpu-a', severity: 'critical', service: fingerprint },
      annotations: { summary: `${fingerprint} is down`, description: 'connection refused' },
      startsAt,
      endsAt: state === 'resolved' ? startsAt + 60_000 : null,
      updatedAt: startsAt,
    },
    state,
    suppressedBy: [],
    ...extra,
  };
}

function notification(id: string, receiver: string): Notification {
  return {
    id,
    receiver,
    groupKey: 'g',
    groupLabels: {},
    commonLabels: {},
    status: 'firing',
    firingCount: 1,
    resolvedCount: 0,
    alerts: [],
    truncatedAlerts: 0,
    externalUrl: '',
    createdAt: iso(T0),
  };
}

const receivers: ReceiverDeliveryStatus[] = [
  { receiver: 'ops-slack', type: 'slack', target: 'slack https://hooks.slack.com/[redacted]', state: 'waiting', nextAttemptAt: T0 + 30_000, lastError: 'HTTP 429' },
  { receiver: 'hook', type: 'webhook', target: 'webhook http://127.0.0.1:9000/[redacted]', state: 'idle', nextAttemptAt: null, lastError: null },
];

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-alerts-api-'));
  store = SqliteStore.open(join(dir, 'llm-health.db'));
  const router = new Router({ viewerTokens: new TokenSet([VIEWER]), adminTokens: new TokenSet(['admin']) }, silentLogger());
  registerAlertRoutes(router, { alerts: () => views, store: store.outbox, receivers: () => receivers });
  const server = createHttpServer(router, new Map());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
});
after(() => close());

async function get(path: string, token = VIEWER): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

test('GET /api/v1/alerts: the documented shape, oldest first, filtered by state', async () => {
  views = [
    view('qwen', T0 + 2000, 'suppressed', { suppressedBy: [{ kind: 'silenced', silenceIds: ['s1'] }] }),
    view('llama', T0 + 1000, 'firing'),
    view('ollama', T0, 'resolved'),
  ];
  const r = await get('/api/v1/alerts');
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body), ['alerts']);
  assert.deepEqual(r.body.alerts.map((a: { fingerprint: string }) => a.fingerprint), ['ollama', 'llama', 'qwen']);
  assert.deepEqual(r.body.alerts[2], {
    fingerprint: 'qwen',
    labels: { alertname: 'LLMServiceDown', host: 'gpu-a', severity: 'critical', service: 'qwen' },
    annotations: { summary: 'qwen is down', description: 'connection refused' },
    state: 'suppressed',
    suppressedBy: [{ kind: 'silenced', silenceIds: ['s1'] }],
    startsAt: iso(T0 + 2000),
    endsAt: null,
  });
  assert.equal(r.body.alerts[0].endsAt, iso(T0 + 60_000));
  assert.deepEqual((await get('/api/v1/alerts?state=firing')).body.alerts.map((a: { fingerprint: string }) => a.fingerprint), ['llama']);
  assert.equal((await get('/api/v1/alerts?state=nope')).status, 400);
  assert.equal((await get('/api/v1/alerts', '')).status, 401, 'viewer access');
});

test('GET /api/v1/notifications: receivers, undelivered outbox rows and the delivery log', async () => {
  const log = (n: Notification) => ({ receiver: n.receiver, groupKey: n.groupKey, firing: [], resolved: [], sentAt: T0 });
  const a = notification('n-a', 'ops-slack');
  const b = notification('n-b', 'hook');
  const c = notification('n-c', 'hook');
  await store.outbox.enqueueNotification(a, [{}, {}], log(a));
  await store.outbox.enqueueNotification(b, [{}], log(b));
  await store.outbox.enqueueNotification(c, [{}], log(c));
  await store.outbox.markMessageDelivered('n-a', 0, { index: 0, at: T0 + 1, status: 200 });
  await store.outbox.scheduleRetry('n-a', T0 + 30_000, 'HTTP 429', { index: 1, at: T0 + 2, status: 429 });
  await store.outbox.markFailed('n-b', 'HTTP 404', { index: 0, at: T0 + 3, status: 404 });
  await store.outbox.markMessageDelivered('n-c', 0, { index: 0, at: T0 + 4, status: 204 });
  await store.outbox.markDelivered('n-c', T0 + 4);

  const r = await get('/api/v1/notifications');
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body), ['receivers', 'outbox', 'deliveries']);
  assert.deepEqual(r.body.receivers[0], { ...receivers[0], nextAttemptAt: iso(T0 + 30_000) });
  assert.deepEqual(r.body.outbox.map((o: { id: string; state: string }) => [o.id, o.state]).sort(), [
    ['n-a', 'pending'],
    ['n-b', 'failed'],
  ]);
  const pending = r.body.outbox.find((o: { id: string }) => o.id === 'n-a');
  assert.equal(pending.nextMessage, 1);
  assert.equal(pending.messageCount, 2);
  assert.equal(pending.nextAttemptAt, iso(T0 + 30_000));
  assert.equal(pending.lastError, 'HTTP 429');
  assert.deepEqual(r.body.deliveries.map((d: { notificationId: string; outcome: string; status: number; at: string }) => [d.notificationId, d.outcome, d.status, d.at]), [
    ['n-a', 'delivered', 200, iso(T0 + 1)],
    ['n-a', 'retry', 429, iso(T0 + 2)],
    ['n-b', 'failed', 404, iso(T0 + 3)],
    ['n-c', 'delivered', 204, iso(T0 + 4)],
  ]);

  const hook = await get('/api/v1/notifications?receiver=hook&limit=1');
  assert.deepEqual(hook.body.receivers.map((x: { receiver: string }) => x.receiver), ['hook']);
  assert.deepEqual(hook.body.outbox.map((o: { id: string }) => o.id), ['n-b']);
  assert.deepEqual(hook.body.deliveries.map((d: { notificationId: string }) => d.notificationId), ['n-c']);
  for (const q of ['limit=0', 'limit=x', `receiver=${'r'.repeat(200)}`]) assert.equal((await get(`/api/v1/notifications?${q}`)).status, 400, q);
});
