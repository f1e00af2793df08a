import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess } from '../../agent/main.js';
import { systemClock } from '../../shared/clock.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';
import { ConfigError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logger.js';
import { AGENT_TOKEN, startTestCoordinator, wsUrl } from '../coordinator/helpers.js';
import { parseExposition, PROMTOOL, promtoolCheck, skipWithout } from '../helpers/prometheus.js';
import { freePort, waitFor } from '../helpers/service-manager.js';

const services = (okPort: number) => `services:
  - { name: a, kind: http, url: "http://127.0.0.1:${okPort}", interval: 200ms, timeout: 1s }
  - { name: b, kind: http, url: "http://127.0.0.1:1", interval: 200ms, timeout: 1s, retries: 1, startupGrace: 1ms }
restart: { enabled: false }
gpu: { enabled: false }
`;

function configIssue(yaml: string): string {
  try {
    parseAgentConfig('agent.yaml', `${yaml}\nservices: [{ name: a, kind: http, url: "http://127.0.0.1:1" }]\n`);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return '';
}

test('metrics.listen: loopback only, unless allowNonLoopback says the network is trusted', () => {
  assert.match(configIssue('metrics: { listen: "0.0.0.0:9101" }'), /metrics\.listen: 0\.0\.0\.0 is not a loopback address/);
  assert.match(configIssue('metrics: { listen: "10.0.0.5:9101" }'), /metrics\.listen/);
  assert.match(configIssue('metrics: { listen: ":9101" }'), /metrics\.listen/, 'no every-interface shorthand');
  assert.match(configIssue('metrics: { listen: "127.0.0.1:0" }'), /metrics\.listen: expected a port/);
  assert.match(configIssue('metrics: {}'), /metrics/);
  assert.equal(configIssue('metrics: { listen: "10.0.0.5:9101", allowNonLoopback: true }'), '');
  const ok = (listen: string) => parseAgentConfig('a.yaml', `metrics: { listen: "${listen}" }\nservices: [{ name: a, kind: http, url: "http://127.0.0.1:1" }]\n`).metrics;
  assert.deepEqual(ok('127.0.0.1:9101'), { host: '127.0.0.1', port: 9101 });
  assert.deepEqual(ok('[::1]:9101'), { host: '::1', port: 9101 });
  assert.equal(parseAgentConfig('a.yaml', 'services: [{ name: a, kind: http, url: "http://127.0.0.1:1" }]\n').metrics, undefined);
});

async function scrape(port: number): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

test("the agent's /metrics: service up and state, probe durations, restarts; promtool-clean", async (t) => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((r) => server.close(r)));
  const metricsPort = await freePort();
  const config = parseAgentConfig('agent.yaml', `agent: { id: t }\nmetrics: { listen: "127.0.0.1:${metricsPort}" }\n${services((server.address() as AddressInfo).port)}`);
  const agent = await startAgentProcess(config, { clock: systemClock, logger: silentLogger(), version: 'test' });
  t.after(() => agent.stop());
  assert.equal(agent.metricsPort, metricsPort);

  const { samples, text } = await waitFor(
    async () => {
      const r = await scrape(metricsPort);
      return r.samples.get('llm_health_service_state{service="b",state="down"}') === 1 && (r.samples.get('llm_health_probe_duration_seconds_count{kind="http",service="a"}') ?? 0) >= 2 ? r : undefined;
    },
    10_000,
    'a healthy and b down in the metrics',
  );
  assert.equal(samples.get('llm_health_service_up{kind="http",service="a"}'), 1);
  assert.equal(samples.get('llm_health_service_up{kind="http",service="b"}'), 0);
  assert.equal(samples.get('llm_health_service_state{service="a",state="healthy"}'), 1);
  assert.equal(samples.get('llm_health_service_state{service="a",state="down"}'), 0);
  assert.ok(samples.has('process_resident_memory_bytes'));
  assert.ok(!samples.has('llm_health_coordinator_connected'), 'no link metrics without a coordinator');

  agent.agent.events.emit({ type: 'restart_started', service: 'b', reason: 'down' });
  agent.agent.events.emit({ type: 'restart_failed', service: 'b', reason: 'unit not found' });
  const after = (await scrape(metricsPort)).samples;
  assert.equal(after.get('llm_health_restarts_total{outcome="started",service="b"}'), 1);
  assert.equal(after.get('llm_health_restarts_total{outcome="failed",service="b"}'), 1);

  const notFound = await fetch(`http://127.0.0.1:${metricsPort}/`, { signal: AbortSignal.timeout(3000) });
  assert.equal(notFound.status, 404);
  await notFound.text();

  if (!skipWithout(PROMTOOL)) {
    const check = await promtoolCheck(text);
    assert.equal(check.output, '', check.output);
    assert.equal(check.code, 0);
  }
});

test("the agent's /metrics with a coordinator: link connected, spool depth", async (t) => {
  const tc = await startTestCoordinator();
  t.after(() => tc.close());
  const spool = mkdtempSync(join(tmpdir(), 'llmh-metrics-spool-'));
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const metricsPort = await freePort();
  const config = parseAgentConfig(
    'agent.yaml',
    `agent: { id: gpu-a }\nmetrics: { listen: "127.0.0.1:${metricsPort}" }\ncoordinator: { url: "${wsUrl(tc.coord)}", token: ${AGENT_TOKEN}, spoolDir: ${spool} }\n${services(1)}`,
  );
  const agent = await startAgentProcess(config, { clock: systemClock, logger: silentLogger(), version: 'test' });
  t.after(() => agent.stop());
  await waitFor(async () => {
    const s = (await scrape(metricsPort)).samples;
    return s.get('llm_health_coordinator_connected') === 1 && s.get('llm_health_spool_events') === 0;
  }, 10_000, 'connected, spool drained');
  await tc.coord.close();
  // events while the coordinator is away stay in the spool and show as its depth
  agent.agent.events.emit({ type: 'restart_started', service: 'a', reason: 'test' });
  await waitFor(async () => {
    const s = (await scrape(metricsPort)).samples;
    return s.get('llm_health_coordinator_connected') === 0 && (s.get('llm_health_spool_events') ?? 0) >= 1;
  }, 10_000, 'disconnected, spool holding events');
});

test('a port in use stops the start, before any probe runs', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((r) => blocker.close(r)));
  const port = (blocker.address() as AddressInfo).port;
  const config = parseAgentConfig('agent.yaml', `metrics: { listen: "127.0.0.1:${port}" }\n${services(1)}`);
  await assert.rejects(startAgentProcess(config, { clock: systemClock, logger: silentLogger(), version: 'test' }), /EADDRINUSE/);
});
