import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../helpers/service-manager.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { silentLogger } from '../../../shared/logger.js';
import { createAlertmanagerNotifier } from '../../../coordinator/notify/alertmanager.js';
import { sampleAlert, sampleNotification } from '../../helpers/receivers.js';

/**
 * The alertmanager notifier against a real Prometheus Alertmanager (Debian's
 * prometheus-alertmanager package). Skipped, saying why, where the binary is absent.
 */

const BINARY = process.env.LLM_HEALTH_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';


async function waitReady(base: string, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await request(`${base}/-/ready`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`alertmanager not ready after ${timeoutMs}ms:\n${log()}`);
}

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string };
}

async function alerts(base: string): Promise<GettableAlert[]> {
  const res = await request(`${base}/api/v2/alerts`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as GettableAlert[];
}

test('alertmanager: a notification forwarded to a real Alertmanager shows in its /api/v2/alerts', { skip: existsSync(BINARY) ? false : `${BINARY} not installed (apt-get install prometheus-alertmanager)` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-am-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'alertmanager.yml'), 'route:\n  receiver: null-r\nreceivers:\n  - name: null-r\n');
  const child = spawn(BINARY, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitReady(base, child, () => output);

  const am = createAlertmanagerNotifier({ name: 'am', url: base, timeoutMs: 5000 }, { logger: silentLogger() });
  assert.equal(am.describe(), `alertmanager http://127.0.0.1:${port}/[redacted]`);
  // the group is larger than the sample: Alertmanager gets all of it
  const all = Array.from({ length: 120 }, (_, i) => sampleAlert(i + 1));
  const n = { ...sampleNotification(50, { firingCount: 120, truncatedAlerts: 70 }), allAlerts: all };
  const messages = am.build(n);
  for (const m of messages) assert.deepEqual(await am.deliver(m, new AbortController().signal), { ok: true, status: 200 });

  const firing = await alerts(base);
  assert.equal(firing.length, 120);
  const one = firing.find((a) => a.labels.host === 'gpu-7')!;
  assert.deepEqual(one.labels, { alertname: 'LLMServiceDown', host: 'gpu-7', service: 'qwen-vl', severity: 'critical' });
  assert.deepEqual(one.annotations, { summary: 'qwen-vl on gpu-7 is down', description: 'probe failed: connection refused' });
  assert.equal(Date.parse(one.startsAt), Date.parse('2024-05-01T10:00:00.000Z'));
  assert.equal(one.status.state, 'active');
  assert.equal(one.generatorURL, 'http://127.0.0.1:7700/');

  // resolving one alert (endsAt in the past) removes it from the active list
  const resolved = { ...sampleNotification(1, { status: 'resolved', firingCount: 0, resolvedCount: 1 }), alerts: [sampleAlert(7, { status: 'resolved', endsAt: new Date(Date.now() - 1000).toISOString() })] };
  for (const m of am.build(resolved)) assert.ok((await am.deliver(m, new AbortController().signal)).ok);
  const after = await alerts(base);
  assert.equal(after.length, 119);
  assert.ok(!after.some((a) => a.labels.host === 'gpu-7'));

  // Alertmanager's validation error (endsAt before startsAt) is final
  const bad = [{ labels: { alertname: 'X' }, annotations: {}, startsAt: '2024-05-01T10:00:00Z', endsAt: '2024-05-01T09:00:00Z' }];
  const r = await am.deliver(bad, new AbortController().signal);
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? null : [r.retryable, r.status], [false, 400]);
});
