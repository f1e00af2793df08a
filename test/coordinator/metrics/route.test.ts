import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestCoordinator, TestAgent, VIEWER_TOKEN, wsUrl } from '../helpers.js';
import { event, events, probes, snapshot } from '../protocol-samples.js';
import { parseExposition } from '../../helpers/prometheus.js';

async function get(url: string, token?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

test('GET /metrics follows the viewer-token rule', async (t) => {
  const tc = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  t.after(() => tc.close());
  assert.equal((await get(tc.coord.url)).status, 401);
  assert.equal((await get(tc.coord.url, 'not-a-token')).status, 401);
  for (const token of [VIEWER_TOKEN, ADMIN_TOKEN]) {
    const res = await get(tc.coord.url, token);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
  }
});

test('GET /metrics is open without viewer tokens, and counts what a real agent connection reports', async (t) => {
  const tc = await startTestCoordinator();
  t.after(() => tc.close());
  const { agent } = await TestAgent.hello(wsUrl(tc.coord));
  t.after(() => agent.closeAndWait());
  agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
  agent.send(probes());
  agent.send(events([event(1, { service: 'llama', from: 'healthy', to: 'down' }), event(2, { type: 'restart_started', service: 'llama', from: undefined, to: undefined })]));
  await agent.ackedUpTo(2);
  // replayed after a reconnect: stored once, counted once
  agent.send(events([event(2, { type: 'restart_started', service: 'llama', from: undefined, to: undefined })]));
  await agent.ackedUpTo(2);

  const res = await get(tc.coord.url);
  assert.equal(res.status, 200);
  const s = parseExposition(res.text);
  assert.equal(s.get('llm_health_services{state="down"}'), 1);
  assert.equal(s.get('llm_health_service_up{host="gpu-a",kind="vllm",service="qwen"}'), 1);
  assert.equal(s.get('llm_health_hosts_connected'), 1);
  assert.equal(s.get('llm_health_agent_connections'), 1);
  assert.equal(s.get('llm_health_probe_duration_seconds_count{kind="llamacpp"}'), 1);
  assert.equal(s.get('llm_health_restarts_total{host="gpu-a",outcome="started",service="llama"}'), 1);
  assert.ok(s.has('process_resident_memory_bytes'), 'process metrics');
});
