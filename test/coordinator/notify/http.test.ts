import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/logger.js';
import { MAX_SAMPLE_ALERTS } from '../../../coordinator/alerts/types.js';
import { createDiscordNotifier } from '../../../coordinator/notify/discord.js';
import { createNotifyDispatcher, postJson } from '../../../coordinator/notify/http.js';
import { createSlackNotifier, type SlackMessage } from '../../../coordinator/notify/slack.js';
import type { DeliveryResult, Notifier } from '../../../coordinator/notify/types.js';
import { createWebhookNotifier, type WebhookMessage } from '../../../coordinator/notify/webhook.js';
import { sampleAlert, sampleNotification, startDiscordReceiver, startSlackReceiver, startWebhookReceiver } from '../../helpers/receivers.js';

/** Notifiers against loopback receivers that enforce the providers' limits and errors. */

const deps = () => ({ logger: silentLogger(), dispatcher: createNotifyDispatcher({ connectTimeoutMs: 2000 }) });
const live = () => new AbortController().signal;

async function deliverAll<M>(n: Notifier<M>, messages: M[]): Promise<DeliveryResult[]> {
  const out: DeliveryResult[] = [];
  for (const m of messages) out.push(await n.deliver(m, live()));
  return out;
}

function failed(r: DeliveryResult): Extract<DeliveryResult, { ok: false }> {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  return r as Extract<DeliveryResult, { ok: false }>;
}

test('slack: delivered, then 429 is retryable with Retry-After, then delivered again', async (t) => {
  const rx = await startSlackReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const slack = createSlackNotifier({ name: 'ops-slack', url: rx.url, timeoutMs: 2000 }, d);
  assert.equal(slack.minIntervalMs, 1000, 'about one message per second per webhook');
  const [message] = slack.build(sampleNotification(3));
  assert.deepEqual(await slack.deliver(message!, live()), { ok: true, status: 200 });
  assert.deepEqual(rx.received[0]!.body, message);

  rx.rateLimitNext(1, 7);
  const r = failed(await slack.deliver(message!, live()));
  assert.equal(r.retryable, true);
  assert.equal(r.retryAfterMs, 7000);
  assert.equal(r.status, 429);
  assert.ok((await slack.deliver(message!, live())).ok);
  assert.equal(rx.received.length, 2);
});

test('slack: the receiver refuses oversize payloads the way Slack does, and that is final', async (t) => {
  const rx = await startSlackReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const slack = createSlackNotifier({ name: 'ops-slack', url: rx.url, timeoutMs: 2000 }, d);
  const tooMany: SlackMessage = { text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' as const })) };
  const r = failed(await slack.deliver(tooMany, live()));
  assert.deepEqual([r.retryable, r.status, r.error], [false, 400, 'HTTP 400: invalid_blocks']);
  const tooLong = failed(await slack.deliver({ text: 'x'.repeat(40_001), blocks: [] }, live()));
  assert.equal(tooLong.error, 'HTTP 400: msg_too_long');
  // what the builder makes of a fleet-wide outage is accepted
  const big = sampleNotification(MAX_SAMPLE_ALERTS, { truncatedAlerts: 500 });
  big.alerts = big.alerts.map((_, i) => sampleAlert(i + 1, { annotations: { summary: 's'.repeat(2000), description: 'd'.repeat(5000) } }));
  assert.deepEqual(await deliverAll(slack, slack.build(big)), [{ ok: true, status: 200 }]);
});

test('slack: a deleted webhook is final and the error never carries the URL secret', async (t) => {
  const rx = await startSlackReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const slack = createSlackNotifier({ name: 'ops-slack', url: rx.url, timeoutMs: 2000 }, d);
  rx.deleteWebhook();
  const r = failed(await slack.deliver(slack.build(sampleNotification(1))[0]!, live()));
  assert.deepEqual([r.retryable, r.status, r.error], [false, 404, 'HTTP 404: no_service']);
  assert.ok(!slack.describe().includes('xoxSecretToken'), slack.describe());
  assert.equal(slack.describe(), `slack http://127.0.0.1:${rx.port}/[redacted]`);
});

test('discord: a 50-alert outage is split and every message is accepted by a limit-enforcing receiver', async (t) => {
  const rx = await startDiscordReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const discord = createDiscordNotifier({ name: 'ops-discord', url: rx.url, timeoutMs: 2000 }, d);
  const alerts = Array.from({ length: MAX_SAMPLE_ALERTS }, (_, i) => sampleAlert(i + 1, { annotations: { summary: 'down '.repeat(100), description: 'reason '.repeat(600) } }));
  const messages = discord.build(sampleNotification(0, { alerts, firingCount: 60, truncatedAlerts: 10 }));
  assert.ok(messages.length > 1);
  const results = await deliverAll(discord, messages);
  assert.deepEqual(results, messages.map(() => ({ ok: true, status: 204 })));
  assert.equal(rx.received.length, messages.length);
  assert.deepEqual(rx.rejected, []);
});

test('discord: 429 retry_after (float seconds, body) → retryable with retryAfterMs; 400 over limits → final', async (t) => {
  const rx = await startDiscordReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const discord = createDiscordNotifier({ name: 'ops-discord', url: rx.url, timeoutMs: 2000 }, d);
  const [m] = discord.build(sampleNotification(2));
  rx.rateLimitNext(1, 1.5);
  const r = failed(await discord.deliver(m!, live()));
  assert.deepEqual([r.retryable, r.status, r.retryAfterMs], [true, 429, 1500]);
  // only the header (a proxy in between): whole seconds
  rx.failNext(1, 429, 'slow down', { 'retry-after': '3' });
  assert.equal(failed(await discord.deliver(m!, live())).retryAfterMs, 3000);
  assert.deepEqual(await discord.deliver(m!, live()), { ok: true, status: 204 });

  const over = { ...m!, content: 'x'.repeat(2001) };
  const bad = failed(await discord.deliver(over, live()));
  assert.equal(bad.retryable, false);
  assert.equal(bad.status, 400);
  assert.match(bad.error, /50035/);
});

test('discord: a deleted webhook (404 Unknown Webhook) is permanent; the token never shows', async (t) => {
  const rx = await startDiscordReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const discord = createDiscordNotifier({ name: 'ops-discord', url: rx.url, timeoutMs: 2000 }, d);
  rx.deleteWebhook();
  const r = failed(await discord.deliver(discord.build(sampleNotification(1))[0]!, live()));
  assert.deepEqual([r.retryable, r.status], [false, 404]);
  assert.match(r.error, /Unknown Webhook/);
  assert.equal(discord.minIntervalMs, 2000);
  for (const text of [r.error, discord.describe()]) assert.ok(!text.includes('discordSecretToken'), text);
});

test('webhook: the receiver parses the v4 body; headers are sent; 5xx retryable with an HTTP-date Retry-After; 4xx final', async (t) => {
  const rx = await startWebhookReceiver();
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const now = Date.parse('2024-05-01T10:00:00Z');
  const hook = createWebhookNotifier({ name: 'hook', url: rx.url, timeoutMs: 2000, headers: { Authorization: 'Bearer hook-secret-token' } }, { ...d, now: () => now });
  const n = sampleNotification(2);
  const [m] = hook.build(n);
  assert.ok((await hook.deliver(m!, live())).ok);
  const body = rx.received[0]!.body as WebhookMessage;
  assert.equal(body.version, '4');
  assert.equal(body.groupKey, n.groupKey);
  assert.deepEqual(
    body.alerts.map((a) => [a.status, a.labels.host, a.endsAt, a.fingerprint]),
    [
      ['firing', 'gpu-1', '0001-01-01T00:00:00Z', 'fp0001'],
      ['firing', 'gpu-2', '0001-01-01T00:00:00Z', 'fp0002'],
    ],
  );
  assert.equal(rx.received[0]!.headers.authorization, 'Bearer hook-secret-token');
  assert.equal(rx.received[0]!.headers['content-type'], 'application/json');

  rx.failNext(1, 503, 'maintenance', { 'retry-after': 'Wed, 01 May 2024 10:01:00 GMT' });
  const r = failed(await hook.deliver(m!, live()));
  assert.deepEqual([r.retryable, r.status, r.retryAfterMs, r.error], [true, 503, 60_000, 'HTTP 503: maintenance']);
  rx.rateLimitNext(1, 2);
  assert.deepEqual(failed(await hook.deliver(m!, live())).retryAfterMs, 2000);
  rx.failNext(1, 401, 'bad token hook-secret-token');
  const denied = failed(await hook.deliver(m!, live()));
  assert.deepEqual([denied.retryable, denied.status], [false, 401]);
  assert.ok(!denied.error.includes('hook-secret-token'), 'header secrets are scrubbed too');
});

test('webhook: slow receiver → timeout, refused → retryable, back on the same port → delivered; no secret in any error', async (t) => {
  const rx = await startWebhookReceiver('hooks/6f1c2d-very-secret-path-b7e9');
  const d = deps();
  t.after(() => Promise.all([rx.close(), d.dispatcher.close()]));
  const hook = createWebhookNotifier({ name: 'hook', url: rx.url, timeoutMs: 300 }, d);
  const [m] = hook.build(sampleNotification(1));
  const errors: string[] = [];

  rx.setDelay(2000);
  const started = Date.now();
  const slow = failed(await hook.deliver(m!, live()));
  assert.ok(Date.now() - started < 1500, 'the timeout bounds the request');
  assert.deepEqual([slow.retryable, slow.error], [true, 'timed out after 300ms']);
  rx.setDelay(0);

  await rx.refuse();
  const refused = failed(await hook.deliver(m!, live()));
  assert.equal(refused.retryable, true);
  assert.match(refused.error, /ECONNREFUSED/);
  errors.push(refused.error, slow.error);

  await rx.restore();
  assert.ok((await hook.deliver(m!, live())).ok);
  // the slow request had arrived before we gave up on it: delivery is at least once
  assert.equal(rx.received.length, 2);

  rx.deleteWebhook();
  errors.push(failed(await hook.deliver(m!, live())).error);
  const aborted = new AbortController();
  aborted.abort();
  const ab = failed(await hook.deliver(m!, aborted.signal));
  assert.deepEqual([ab.retryable, ab.error], [true, 'aborted']);
  for (const e of [...errors, hook.describe()]) assert.ok(!e.includes('very-secret-path') && !e.includes('6f1c2d'), e);
});

test('http: a request the config makes invalid is final; the response read is capped', async (t) => {
  const badHeader = await postJson({ url: 'http://127.0.0.1:9/x', body: {}, headers: { 'x-token': 'a\nb' }, timeoutMs: 500 });
  assert.deepEqual(badHeader.ok ? null : [badHeader.result.retryable, badHeader.result.error], [false, 'UND_ERR_INVALID_ARG: invalid x-token header']);
  const badUrl = await postJson({ url: 'hooks.example.com/x', body: {}, timeoutMs: 500 });
  assert.equal(badUrl.ok ? null : badUrl.result.retryable, false);

  const rx = await startWebhookReceiver();
  t.after(() => rx.close());
  rx.failNext(1, 500, 'e'.repeat(200_000));
  const big = await postJson({ url: rx.url, body: {}, timeoutMs: 2000, maxResponseBytes: 1000 });
  assert.ok(big.ok);
  assert.equal(big.answer.status, 500);
  assert.equal(big.answer.body.length, 1000);
});
