/**
 * A real Prometheus (Debian's binary) scrapes a test coordinator every second; a scripted agent
 * over a real WebSocket reports a service down, and Prometheus's own query API must say so.
 * This is what an operator's dashboards and alert rules will read: the exposition must parse,
 * the target must be up, and values must follow the fleet within a few scrapes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestCoordinator, TestAgent, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';
import { event, events, snapshot } from '../coordinator/protocol-samples.js';
import { PROMETHEUS, skipWithout } from '../helpers/prometheus.js';
import { freePort } from '../helpers/service-manager.js';

const skip = skipWithout(PROMETHEUS);
let tc: TestCoordinator | undefined;
let prometheus: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let dir: string | undefined;
let promUrl = '';
const promLog: string[] = [];

before(async () => {
  if (skip) return;
  tc = await startTestCoordinator();
  dir = mkdtempSync(join(tmpdir(), 'llmh-prometheus-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: llm-health
    metrics_path: /metrics
    static_configs: [{ targets: ['127.0.0.1:${tc.coord.port}'] }]
`,
  );
  prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => prometheus!.once('exit', () => resolve()));
  // under CI a missing binary gets here: fail at once, naming it
  const spawnFailed = new Promise<never>((_resolve, reject) => prometheus!.once('error', (err) => reject(new Error(`cannot run ${PROMETHEUS}: ${err.message} (apt-get install prometheus)`))));
  for (const s of [prometheus.stdout!, prometheus.stderr!]) s.on('data', (d: Buffer) => promLog.push(d.toString()));
  await Promise.race([spawnFailed, poll('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok)]);
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    prometheus.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }
  await tc?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Polls every 250 ms for at most `timeoutMs`; connection errors count as "not yet". */
async function poll<T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${String(last ?? 'no error')}); prometheus said: ${promLog.join('').slice(-2000)}`);
    await sleep(250);
  }
}

/** The value of `query`'s single sample at Prometheus's latest scrape, or undefined when it has none. */
async function instant(query: string): Promise<number | undefined> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(body.status, 'success');
  const r = body.data.result;
  return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
}

test('a real Prometheus scrapes /metrics and sees a service go down', { skip, timeout: 30_000 }, async (t) => {
  assert.ok(prometheus, 'prometheus did not start');
  const { agent } = await TestAgent.hello(wsUrl(tc!.coord));
  t.after(() => agent.closeAndWait());
  agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));

  // scraping works and reflects the healthy fleet first, so the later 1 is news, not a leftover
  await poll('the healthy fleet in Prometheus', async () => (await instant('llm_health_services{state="healthy"}')) === 2 && (await instant('llm_health_services{state="down"}')) === 0);
  assert.equal(await instant('up{job="llm-health"}'), 1);

  agent.send(events([event(1, { service: 'llama', from: 'healthy', to: 'down', reason: 'crashed: connect ECONNREFUSED' })]));
  await agent.ackedUpTo(1);
  await poll('llm_health_services{state="down"} = 1', async () => (await instant('llm_health_services{state="down"}')) === 1);
  assert.equal(await instant('llm_health_service_up{host="gpu-a",service="llama"}'), 0);
  assert.equal(await instant('llm_health_service_up{host="gpu-a",service="qwen"}'), 1);
});
