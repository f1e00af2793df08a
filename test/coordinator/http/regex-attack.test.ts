import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DB_FILE } from '../../../coordinator/main.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { ADMIN_TOKEN, AGENT_TOKEN, TestAgent, VIEWER_TOKEN } from '../helpers.js';
import { snapshot } from '../protocol-samples.js';

/**
 * The regex denial of service, replayed against a real coordinator process: `.*` written 18
 * times before a suffix the label lacks made JavaScript's backtracking RegExp spin for years
 * on one 40-character label, blocking the event loop (no /healthz, no agents), and again
 * after every restart because the silence is stored. The coordinator runs as a child
 * process so that the test itself keeps running while it would spin: every request has
 * its own deadline, and a hung coordinator fails the test instead of hanging it.
 */

const CLI = fileURLToPath(new URL('../../../cli/main.js', import.meta.url));
/** 40 characters: the agent id becomes the alerts' `host` label */
const HOST = `gpu-node-${'a'.repeat(31)}`;
const STARS = '.*'.repeat(18);
/** far below the old engine's time, far above what RE2 needs on a loaded 2-core machine */
const REQUEST_DEADLINE_MS = 5000;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Coordinator {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-regex-attack-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `llm-health coordinator -c FILE` in a child process; resolves once it logs `listening`. */
async function startCoordinator(dir: string, extraYaml = ''): Promise<Coordinator> {
  const file = join(dir, 'coordinator.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndataDir: ${dir}\nlog: { level: info }\nauth:\n  agentTokens: [${AGENT_TOKEN}]\n  adminTokens: [${ADMIN_TOKEN}]\n  viewerTokens: [${VIEWER_TOKEN}]\n${extraYaml}`);
  const child = spawn(process.execPath, [CLI, 'coordinator', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const stop = () => stopChild(child);
  cleanups.push(stop);
  const url = await listeningUrl(child, () => out);
  return { url, logs: () => out, stop };
}

async function listeningUrl(child: ChildProcessByStdio<null, Readable, Readable>, logs: () => string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"listening"/.exec(logs());
    if (m) return m[1]!;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`coordinator did not start (exit ${child.exitCode}):\n${logs()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM, then SIGKILL: a coordinator stuck in a regex never reads its signal handler. */
async function stopChild(child: ChildProcessByStdio<null, Readable, Readable>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function request(url: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const method = init.method ?? 'GET';
  try {
    const res = await fetch(url, {
      method,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') throw err;
    throw new Error(`${method} ${new URL(url).pathname}: no answer within ${REQUEST_DEADLINE_MS} ms (the coordinator is stuck)`);
  }
}

/** An agent named HOST reports `llama` down; resolves once the coordinator has the alert. */
async function serviceDown(coord: Coordinator): Promise<void> {
  const { agent } = await TestAgent.hello(`${coord.url.replace(/^http/, 'ws')}/agent`, HOST);
  cleanups.push(() => agent.ws.terminate());
  agent.send(snapshot({ llama: 'down', qwen: 'healthy' }));
  const deadline = Date.now() + REQUEST_DEADLINE_MS;
  while (!(await alertOf(coord))) {
    if (Date.now() > deadline) throw new Error('no LLMServiceDown alert for the 40-character host');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The LLMServiceDown alert of HOST as GET /api/v1/alerts shows it (silences are evaluated for this view). */
async function alertOf(coord: Coordinator): Promise<{ state: string; suppressedBy: { kind: string; silenceIds?: string[] }[] } | undefined> {
  const res = await request(`${coord.url}/api/v1/alerts`, { token: VIEWER_TOKEN });
  assert.equal(res.status, 200);
  return (res.body.alerts as { labels: Record<string, string>; state: string; suppressedBy: [] }[]).find((a) => a.labels.host === HOST && a.labels.alertname === 'LLMServiceDown');
}

async function postSilence(coord: Coordinator, matchers: unknown[]): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return request(`${coord.url}/api/v1/silences`, { method: 'POST', token: ADMIN_TOKEN, body: { matchers, duration: '1h', comment: 'regex attack replay', createdBy: 'test' } });
}

test('a `.*`×18 silence created through the API is matched against a 40-character label promptly; /healthz keeps answering', { timeout: 30_000 }, async () => {
  const coord = await startCoordinator(tempDir());
  await serviceDown(coord);
  const created = await postSilence(coord, ['alertname=LLMServiceDown', `host=~${STARS}-maint`]);
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const [alert, health] = await Promise.all([alertOf(coord), request(`${coord.url}/healthz`)]);
  assert.equal(health.status, 200);
  assert.equal(alert?.state, 'firing', 'the host does not end in -maint: not silenced');

  const matching = await postSilence(coord, ['alertname=LLMServiceDown', `host=~${STARS}a`]);
  assert.equal(matching.status, 201);
  assert.deepEqual((await alertOf(coord))?.suppressedBy, [{ kind: 'silenced', silenceIds: [matching.body.id] }]);
  assert.equal((await request(`${coord.url}/healthz`)).status, 200);
});

test('a silence with a regex RE2 refuses is a 400 naming the matcher, and is not stored', { timeout: 30_000 }, async () => {
  const coord = await startCoordinator(tempDir());
  const res = await postSilence(coord, ['alertname=LLMServiceDown', `host=~(?=gpu)${STARS}`]);
  assert.equal(res.status, 400);
  assert.match(res.body.error.message, /^matchers\[1\]: regex matcher host=~"\(\?=gpu\).*": lookaround .* not supported in RE2 syntax/);
  assert.deepEqual((await request(`${coord.url}/api/v1/silences`, { token: VIEWER_TOKEN })).body.silences, []);
});

test('a `.*`×18 route regex in the config (notify matchRe) is evaluated promptly; only the matching receiver is notified', { timeout: 30_000 }, async () => {
  const hits: string[] = [];
  const sink: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
  const hook = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const coord = await startCoordinator(
    tempDir(),
    `alerts: { groupWait: 0s, groupInterval: 1s }
notify:
  - { name: maint, type: webhook, url: '${hook}/maint', matchRe: { host: '${STARS}-maint' } }
  - { name: nodes, type: webhook, url: '${hook}/nodes', matchRe: { host: '${STARS}a', alertname: 'LLM.*Down' } }
`,
  );
  await serviceDown(coord);
  const deadline = Date.now() + REQUEST_DEADLINE_MS;
  while (!hits.includes('/nodes')) {
    if (Date.now() > deadline) throw new Error(`the matching receiver got nothing; logs:\n${coord.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await request(`${coord.url}/healthz`)).status, 200);
  assert.deepEqual(hits, ['/nodes'], 'the -maint receiver does not match the host');
});

test('a stored silence RE2 cannot compile: the coordinator starts, logs it by id, and it mutes nothing', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const store = SqliteStore.open(join(dir, DB_FILE));
  const now = Date.now();
  // written before matchers used RE2: `\u0067` is JavaScript's escape for `g`, which RE2 spells \x{67}
  await store.silences.createSilence({
    id: 'legacy-js-regex',
    matchers: [
      { name: 'alertname', value: 'LLMServiceDown', isRegex: false, isEqual: true },
      { name: 'host', value: '\\u0067pu-node-.*', isRegex: true, isEqual: true },
    ],
    startsAt: now - 60_000,
    endsAt: now + 3_600_000,
    createdBy: 'ops',
    comment: 'stored by an older version',
    createdAt: now - 60_000,
    updatedAt: now - 60_000,
  });
  await store.close();

  const coord = await startCoordinator(dir);
  const logged = coord.logs().split('\n').find((l) => l.includes('"silenceId":"legacy-js-regex"'));
  assert.ok(logged, `no log line for the stored silence:\n${coord.logs()}`);
  const line = JSON.parse(logged) as { level: number; matcher: string; problem: string; msg: string };
  assert.equal(line.level, 50, 'logged as an error');
  assert.equal(line.matcher, 'host=~"\\\\u0067pu-node-.*"');
  assert.match(line.problem, /not valid RE2 syntax: invalid escape sequence/);
  assert.match(line.msg, /mutes no alert/);

  await serviceDown(coord);
  const alert = await alertOf(coord);
  assert.equal(alert?.state, 'firing', 'the unusable silence mutes nothing');
  const listed = await request(`${coord.url}/api/v1/silences/legacy-js-regex`, { token: VIEWER_TOKEN });
  assert.equal(listed.status, 200, 'still listed, so it can be found and expired');
  assert.equal((await request(`${coord.url}/api/v1/silences/legacy-js-regex`, { method: 'DELETE', token: ADMIN_TOKEN })).status, 200);
});
