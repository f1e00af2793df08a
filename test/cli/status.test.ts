import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFleetTable } from '../../cli/status.js';
import { T0, event, events, iso, snapshot } from '../coordinator/protocol-samples.js';
import { CLI, runCli, spawnCoordinator } from '../helpers/cli.js';
import { AGENT_TOKEN, TestAgent, VIEWER_TOKEN, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('llm-health status', () => {
  let t: TestCoordinator;
  let agent: TestAgent;
  before(async () => {
    t = await startTestCoordinator();
    ({ agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a', 'boot1'));
    agent.send(snapshot({ llama: 'healthy', qwen: 'down' }));
    agent.send(events([event(1, { to: 'down', service: 'qwen', reason: 'connection refused' })]));
    await agent.ackedUpTo(1);
  });
  after(async () => {
    await agent.closeAndWait();
    await t.close();
  });

  test('--json prints the /api/v1/fleet body verbatim; exit 0 even with unhealthy services', async () => {
    const ran = await runCli(['status', '--json', '--url', t.coord.url]);
    assert.equal(ran.code, 0, ran.stderr);
    const api = await getJson(`${t.coord.url}/api/v1/fleet`);
    const printed = JSON.parse(ran.stdout);
    // lastSeen may move between the two reads; everything else is identical
    for (const h of [...printed.hosts, ...api.body.hosts]) h.lastSeen = 'x';
    assert.deepEqual(printed, api.body);
    assert.equal(printed.hosts[0].services.find((s: { name: string }) => s.name === 'qwen').state, 'down');
  });

  test('without --json: a table with host, service, kind, state, reason, latency, last seen', async () => {
    const ran = await runCli(['status', '--url', t.coord.url]);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^HOST\s+SERVICE\s+KIND\s+STATE\s+REASON\s+LATENCY\s+RESTARTS\s+LAST SEEN$/);
    assert.ok(lines.some((l) => /^gpu-a\s+qwen\s+vllm\s+down\s+connection refused/.test(l)), ran.stdout);
    assert.ok(lines.some((l) => /^gpu-a\s+llama\s+llamacpp\s+healthy\s+ready\s+13ms/.test(l)), ran.stdout);
  });

  test('--watch draws the table, then stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [CLI, 'status', '--watch', '--url', t.coord.url], { env: { ...process.env, LLM_HEALTH_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no table drawn: ${out}`)), 10_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('qwen')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(out.match(/^HOST/gm)?.length, 1, 'not redrawn while nothing changed');
  });

  test('--watch follows the feed: a change is a new frame, timestamped and separated when stdout is not a terminal', async () => {
    const child = spawn(process.execPath, [CLI, 'status', '--watch', '--url', t.coord.url], { env: { ...process.env, LLM_HEALTH_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const waitOut = (re: RegExp, what: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what}: ${out}`)), 10_000);
        const check = () => {
          if (!re.test(out)) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve();
        };
        child.stdout.on('data', check);
        check();
      });
    await waitOut(/qwen\s+vllm\s+down/, 'first frame');
    agent.send(events([event(2, { at: iso(Date.now()), to: 'healthy', from: 'down', service: 'qwen', reason: 'ready again' })]));
    await waitOut(/qwen\s+vllm\s+healthy\s+ready again/, 'frame after the change');
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    const rules = out.match(/^--- \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z ---$/gm) ?? [];
    assert.equal(rules.length, out.match(/^HOST/gm)?.length, 'every frame under its own timestamped rule');
    assert.ok(rules.length >= 2);
    assert.ok(!out.includes('\x1b['), 'no terminal escapes into a pipe');
    assert.equal(err, '', 'no warnings (a listener leaked per poll warned after ~11 s before)');
  });

  test('an unreachable coordinator: a message and exit 1', async () => {
    const ran = await runCli(['status', '--url', `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    assert.equal(ran.stdout, '');
  });

  test('a bad --url is a usage error (exit 2)', async () => {
    const ran = await runCli(['status', '--url', 'ftp://x']);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /--url/);
  });
});

describe('llm-health status with viewer tokens', () => {
  let t: TestCoordinator;
  before(async () => {
    t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  });
  after(() => t.close());

  test('the token comes from --token or LLM_HEALTH_TOKEN; without it exit 1 with a hint', async () => {
    const none = await runCli(['status', '--json', '--url', t.coord.url]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /viewer token/);
    assert.equal((await runCli(['status', '--json', '--url', t.coord.url, '--token', VIEWER_TOKEN])).code, 0);
    const env = await runCli(['status', '--json', '--url', t.coord.url], { LLM_HEALTH_TOKEN: VIEWER_TOKEN });
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(JSON.parse(env.stdout), { hosts: [] });
  });
});

test('formatFleetTable: offline hosts, hosts without services, empty fleets', () => {
  const now = T0 + 90_000;
  const table = formatFleetTable(
    {
      hosts: [
        { id: 'gpu-b', connected: false, lastSeen: iso(T0), services: [{ name: 'qwen', kind: 'vllm', state: 'unknown', reason: 'agent offline', lastProbe: { latencyMs: null }, restarts: { count: 2 } }] },
        { id: 'gpu-c', connected: true, lastSeen: iso(now), services: [] },
      ],
    },
    now,
  );
  assert.match(table, /gpu-b \(disconnected\)\s+qwen\s+vllm\s+unknown\s+agent offline\s+-\s+2\s+1m30s ago/);
  assert.match(table, /gpu-c\s+-\s+-\s+-\s+no services reported\s+-\s+-\s+just now/);
  assert.equal(formatFleetTable({ hosts: [] }, now), 'no agents have connected to this coordinator yet\n');
});

test('llm-health coordinator -c FILE: logs listening with the URL, serves, exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-cli-'));
  try {
    const file = join(dir, 'coordinator.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\ndataDir: ./data\nauth:\n  agentTokens: [\${AGENT_TOKEN}]\n`);
    const { child, url, stdout, stderr, exited } = await spawnCoordinator(file, { AGENT_TOKEN });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await getJson(`${url}/healthz`)).status, 200);
    assert.ok(!stdout().includes(AGENT_TOKEN), 'the agent token is never logged');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llm-health coordinator: config errors exit 2 naming file and key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-cli-'));
  try {
    const file = join(dir, 'coordinator.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:0\nauth:\n  agentTokens: [x]\nfleet:\n  agentLostAfter: soon\n');
    const ran = await runCli(['coordinator', '-c', file]);
    assert.equal(ran.code, 2);
    assert.ok(ran.stderr.includes(`${file}: fleet.agentLostAfter: expected a duration`), ran.stderr);
    assert.equal((await runCli(['coordinator'])).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
