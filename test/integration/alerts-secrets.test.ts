/**
 * Secrets never appear in logs or API answers (docs/states-and-alerts.md). The
 * coordinator runs as a child process at log level debug with receivers whose URLs carry
 * secret path parts (given through environment variables, as in the documented coordinator example),
 * webhook credentials in headers, SMTP passwords, and admin/agent/viewer tokens. It makes
 * deliveries happen, failures included: a deleted Discord webhook (404), a webhook whose
 * host refuses connections, a webhook that answers 500 quoting the request's URL and
 * Authorization header back, a wrong SMTP password (535), and a good SMTP login; a silence
 * is created and expired through the API, and requests with unknown tokens are refused.
 * Every byte the coordinator wrote (stdout + stderr) and every API answer is searched for
 * every secret, plain and base64.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CLI, freePort, waitFor } from '../helpers/agent-harness.js';
import { startDiscordReceiver, startSlackReceiver, startWebhookReceiver, type FakeReceiver } from '../helpers/receivers.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { SimAgent } from '../../bench/lib/sim-agent.js';

const AGENT_TOKEN = 'agentTOKEN-s3cr3t-aa11bb22';
const ADMIN_TOKEN = 'adminTOKEN-s3cr3t-cc33dd44';
const VIEWER_TOKEN = 'viewerTOKEN-s3cr3t-ee55ff66';
const BOGUS_TOKEN = 'bogusTOKEN-n0t-valid-77889900';
const HEADER_TOKEN = 'hdrTOKEN-s3cr3t-99112233';
const SMTP_USER = 'alerts';
const SMTP_PASS = 's3cr3t-pass';
const WRONG_PASS = 'wr0ng-s3cr3t-pass-x1';

const SLACK_SECRET = 'T0SECRETA1/B0SECRETB2/SECRETxyz123abc';
const DISCORD_SECRET = '998877665544332211/discordSECRETtoken-qwerty';
const REFUSED_SECRET = 'hooks/SECRETrefusedPATH-778899';
const ECHO_SECRET = 'hooks/SECRETechoPATH-445566';

let dir: string;
let port: number;
let slack: FakeReceiver;
let discord: FakeReceiver;
let refused: FakeReceiver;
let echo: FakeReceiver;
let smtp: SmtpTestServer;
let child: ChildProcess | null = null;
let agent: SimAgent | null = null;
let output = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Every secret, with a name for the failure message. */
function secrets(): [string, string][] {
  const out: [string, string][] = [];
  const url = (name: string, r: FakeReceiver) => {
    out.push([`${name} url`, r.url], [`${name} secret path`, r.secret]);
    for (const seg of r.secret.split('/')) if (seg !== 'hooks') out.push([`${name} path segment`, seg]);
  };
  url('slack', slack);
  url('discord', discord);
  url('refused webhook', refused);
  url('echo webhook', echo);
  const values: [string, string][] = [
    ['agent token', AGENT_TOKEN],
    ['admin token', ADMIN_TOKEN],
    ['viewer token', VIEWER_TOKEN],
    ['rejected token', BOGUS_TOKEN],
    ['webhook header token', HEADER_TOKEN],
    ['smtp password', SMTP_PASS],
    ['wrong smtp password', WRONG_PASS],
  ];
  for (const [name, v] of values) out.push([name, v], [`${name} (base64)`, b64(v)], [`${name} (url-encoded)`, encodeURIComponent(v)]);
  // what AUTH PLAIN puts on the wire
  out.push(['smtp AUTH PLAIN', b64(`\u0000${SMTP_USER}\u0000${SMTP_PASS}`)], ['wrong smtp AUTH PLAIN', b64(`\u0000${SMTP_USER}\u0000${WRONG_PASS}`)]);
  return out;
}

function leaks(text: string): string[] {
  return secrets()
    .filter(([, v]) => text.includes(v))
    .map(([name, v]) => {
      const i = text.indexOf(v);
      return `${name} (${JSON.stringify(v)}) in: …${text.slice(Math.max(0, i - 150), i + v.length + 50)}…`;
    });
}

async function get(path: string, token = VIEWER_TOKEN): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function send(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text() };
}

interface NotificationsBody {
  receivers: { receiver: string; lastError: string | null }[];
  outbox: { receiver: string; state: string; lastError: string | null }[];
  deliveries: { receiver: string; outcome: string; status: number | null; error: string | null }[];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmh-alerts-secrets-'));
  [slack, discord, refused, echo, smtp] = await Promise.all([
    startSlackReceiver(SLACK_SECRET),
    startDiscordReceiver(DISCORD_SECRET),
    startWebhookReceiver(REFUSED_SECRET),
    startWebhookReceiver(ECHO_SECRET),
    startSmtpServer({ user: SMTP_USER, pass: SMTP_PASS }),
  ]);
  discord.deleteWebhook(); // 404 Unknown Webhook: a permanent failure
  await refused.refuse(); // connection refused: retried with backoff
  // a provider that quotes the request back in its error, twice, then accepts
  echo.failNext(2, 500, `upstream error for POST ${echo.url} (path /${ECHO_SECRET}, authorization: Bearer ${HEADER_TOKEN})`);
  port = await freePort();
  const file = join(dir, 'coordinator.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}
dataDir: ./data
auth:
  agentTokens: ['\${AGENT_TOKEN}']
  adminTokens: ['\${ADMIN_TOKEN}']
  viewerTokens: ['${VIEWER_TOKEN}']
fleet: { agentLostAfter: 30s, heartbeatInterval: 1s }
alerts: { groupBy: [alertname, service], groupWait: 500ms, groupInterval: 3s, repeatInterval: 4h }
notify:
  - { name: slack-ok, type: slack, url: '\${SLACK_WEBHOOK_URL}' }
  - { name: discord-gone, type: discord, url: '\${DISCORD_WEBHOOK_URL}' }
  - { name: hook-refused, type: webhook, url: '${refused.url}', timeout: 2s }
  - { name: hook-echo, type: webhook, url: '${echo.url}', headers: { Authorization: 'Bearer ${HEADER_TOKEN}' } }
  - name: mail-ok
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, ignoreTLS: true, user: ${SMTP_USER}, pass: '\${SMTP_PASSWORD}' }
    from: llm-health@example.com
    to: [oncall@example.com]
  - name: mail-badpass
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, ignoreTLS: true, auth: { user: ${SMTP_USER}, pass: '${WRONG_PASS}' } }
    from: llm-health@example.com
    to: [oncall@example.com]
log: { level: debug }
`,
  );
  child = spawn(process.execPath, [CLI, 'coordinator', '-c', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AGENT_TOKEN, ADMIN_TOKEN, SLACK_WEBHOOK_URL: slack.url, DISCORD_WEBHOOK_URL: discord.url, SMTP_PASSWORD: SMTP_PASS },
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, 15_000, `coordinator up:\n${output.slice(-3000)}`);
});

after(async () => {
  agent?.terminate();
  child?.kill('SIGKILL');
  await Promise.all([slack?.close(), discord?.close(), refused?.close(), echo?.close(), smtp?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('no secret in the debug log or any API answer, with deliveries failing and succeeding', async () => {
  // refused credentials: an agent upgrade and API calls with an unknown token, a viewer trying to write
  const upgrade = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { authorization: `Bearer ${BOGUS_TOKEN}` } });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('error', () => resolve(-1));
  });
  assert.equal(upgrade, 401, 'agent upgrade with an unknown token refused');
  assert.equal((await get('/api/v1/fleet', BOGUS_TOKEN)).status, 401);
  assert.equal((await send('POST', '/api/v1/silences', VIEWER_TOKEN, { matchers: ['service=svc-1'], duration: '1h' })).status, 403);

  // a silence for svc-1, then another one expired again
  const created = await send('POST', '/api/v1/silences', ADMIN_TOKEN, { matchers: ['service=svc-1'], duration: '1h', createdBy: 'secrets-test', comment: 'maintenance' });
  assert.equal(created.status, 201, created.text);
  const silenceId = (JSON.parse(created.text) as { id: string }).id;
  const other = await send('POST', '/api/v1/silences', ADMIN_TOKEN, { matchers: ['host=~gpu-.*', 'service=svc-2'], duration: '30m', createdBy: 'secrets-test', comment: 'to be expired' });
  assert.equal(other.status, 201, other.text);
  const otherId = (JSON.parse(other.text) as { id: string }).id;
  assert.equal((await send('DELETE', `/api/v1/silences/${otherId}`, ADMIN_TOKEN)).status, 200);

  // an agent (real protocol, agent token) whose svc-0 and the silenced svc-1 go down
  agent = new SimAgent({ url: `ws://127.0.0.1:${port}/agent`, token: AGENT_TOKEN, id: 'gpu-secret', services: 3, labels: { rack: 'r7' } });
  await agent.connect();
  agent.down(['svc-0', 'svc-1']);
  await agent.waitAcked();

  // every kind of outcome happened
  await waitFor(() => slack.received.length >= 1, 10_000, `slack delivery:\n${output.slice(-3000)}`);
  await waitFor(() => smtp.messages.length >= 1 && smtp.authFailures >= 1, 15_000, 'a mail delivered and a login refused');
  await waitFor(() => discord.rejected.some((r) => r.status === 404), 10_000, 'discord 404');
  await waitFor(() => echo.rejected.length >= 2 && echo.received.length >= 1, 15_000, 'echo webhook: two 500s quoting the secret, then delivered');
  const refusedAttempts = async () => ((JSON.parse((await get('/api/v1/notifications?receiver=hook-refused')).text) as NotificationsBody).deliveries.filter((d) => d.outcome === 'retry').length);
  await waitFor(async () => (await refusedAttempts()) >= 2, 15_000, 'two refused attempts at hook-refused');
  assert.equal(slack.received.length, 1, 'svc-1 is silenced: only svc-0 was sent');

  const n = JSON.parse((await get('/api/v1/notifications')).text) as NotificationsBody;
  const outcome = (receiver: string) => n.deliveries.filter((d) => d.receiver === receiver).map((d) => `${d.outcome}:${d.status ?? '-'}`);
  assert.deepEqual(outcome('discord-gone'), ['failed:404'], 'the deleted Discord webhook failed permanently');
  assert.deepEqual(outcome('mail-badpass'), ['failed:535'], 'the wrong password failed permanently');
  assert.deepEqual(outcome('hook-echo'), ['retry:500', 'retry:500', 'delivered:200']);
  assert.ok(outcome('mail-ok').includes('delivered:-') || outcome('mail-ok').some((o) => o.startsWith('delivered')), `mail-ok: ${outcome('mail-ok')}`);
  for (const d of n.deliveries.filter((x) => x.outcome !== 'delivered')) assert.ok(d.error, `a failure says why: ${JSON.stringify(d)}`);

  // every API answer, as a viewer and as an admin
  const answers: Record<string, string> = {};
  const paths = [
    '/healthz',
    '/api/v1/fleet',
    '/api/v1/alerts',
    '/api/v1/alerts?state=suppressed',
    '/api/v1/notifications',
    ...['slack-ok', 'discord-gone', 'hook-refused', 'hook-echo', 'mail-ok', 'mail-badpass'].map((r) => `/api/v1/notifications?receiver=${r}`),
    '/api/v1/silences',
    '/api/v1/silences?all=1',
    `/api/v1/silences/${silenceId}`,
    `/api/v1/silences/${otherId}`,
    '/api/v1/events?since=0',
    '/api/v1/events?host=gpu-secret',
    '/metrics',
    '/',
  ];
  for (const p of paths) {
    for (const [who, token] of [['viewer', VIEWER_TOKEN], ['admin', ADMIN_TOKEN]] as const) {
      const r = await get(p, token);
      if (p !== '/metrics') assert.equal(r.status, 200, `${who} GET ${p}: ${r.status} ${r.text.slice(0, 200)}`);
      answers[`${who} GET ${p}`] = r.text;
    }
  }
  for (const r of [created, other]) answers['POST /api/v1/silences'] = (answers['POST /api/v1/silences'] ?? '') + r.text;
  const alerts = JSON.parse(answers['viewer GET /api/v1/alerts']!) as { alerts: { state: string; labels: Record<string, string> }[] };
  assert.deepEqual(alerts.alerts.map((a) => [a.labels.service, a.state]).sort(), [['svc-0', 'firing'], ['svc-1', 'suppressed']]);
  const receivers = (JSON.parse(answers['viewer GET /api/v1/notifications']!) as NotificationsBody).receivers;
  assert.ok(receivers.find((r) => r.receiver === 'hook-refused')?.lastError, 'the refused receiver shows its last error');

  // stop it cleanly too, so shutdown lines are in the output
  await sleep(500);
  child!.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => (child!.exitCode !== null ? resolve(child!.exitCode) : child!.once('exit', (c) => resolve(c))));
  assert.equal(code, 0, 'clean shutdown');

  // the log really is at debug level and really covers the failures
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.some((l) => l.includes('"level":20')), 'debug lines were written');
  assert.ok(lines.some((l) => l.includes('failed permanently')), 'permanent failures were logged');
  assert.ok(lines.some((l) => l.includes('will retry')), 'retries were logged');
  assert.ok(lines.some((l) => l.includes('silence created')), 'the silence was logged');
  assert.ok(lines.some((l) => l.includes('upgrade refused')), 'the refused upgrade was logged');

  const found = [...leaks(output).map((l) => `coordinator output: ${l}`), ...Object.entries(answers).flatMap(([what, text]) => leaks(text).map((l) => `${what}: ${l}`))];
  assert.deepEqual(found, [], `secrets leaked:\n${found.join('\n')}`);
});
