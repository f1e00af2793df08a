/**
 * Maintenance end to end (docs/http-api.md, maintenance): a coordinator with a webhook
 * receiver, a real agent process and an emulated server run as a unit of the service-manager
 * stand-in. A crash on a host in maintenance is seen but not restarted and pages no one —
 * also after the agent itself restarts; once the window is switched off, the same crash is
 * restarted and paged as usual.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHarness, waitFor, type Harness } from '../helpers/agent-harness.js';
import { signalPid } from '../helpers/service-manager.js';
import { ADMIN_TOKEN, AGENT_TOKEN, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

let h: Harness | undefined;
let t: TestCoordinator | undefined;
let hook: Server | undefined;
after(async () => {
  await h?.cleanup();
  await t?.close();
  hook?.close();
});

const pages: string[] = [];
async function startHook(): Promise<string> {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pages.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${t!.coord.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}

const downPages = () => pages.filter((p) => p.includes('LLMServiceDown') && p.includes('"firing"'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a crash in maintenance is not restarted and pages no one, across an agent restart; after off it is restarted and paged', async () => {
  const url = await startHook();
  t = await startTestCoordinator(`fleet: { heartbeatInterval: 1s, agentLostAfter: 5s }
alerts: { groupBy: [alertname], groupWait: 500ms, groupInterval: 1s, repeatInterval: 4h, sendResolved: false }
notify:
  - { name: hook, type: webhook, url: '${url}' }`);
  h = createHarness();
  const port = await h.startEmulator('maint.service', 'llamacpp', ['--load-time', '3s']);
  const yaml = `agent: { id: gpu-m }
coordinator: { url: '${wsUrl(t.coord)}', token: '${AGENT_TOKEN}', spoolDir: '${join(h.dir, 'spool')}', heartbeat: 1s, reconnectMax: 2s }
defaults: { interval: 1s, timeout: 1s, retries: 1, retryDelay: 200ms, startupGrace: 20s }
gpu: { enabled: false }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: maint.service }
`;
  let agent = h.spawnAgent(yaml);
  await agent.waitEvent((e) => e.type === 'state_changed' && e.to === 'healthy', 20_000, 'healthy');

  const on = await admin('POST', '/api/v1/hosts/gpu-m/maintenance', { for: '10m', comment: 'driver update' });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body.maintenance.by, 'auth.adminTokens[0]');
  await waitFor(() => agent.lines.some((l) => l.includes('automatic restarts paused')), 10_000, 'the agent told');
  const fleet = (await getJson(`${t.coord.url}/api/v1/fleet`)).body;
  assert.equal(fleet.hosts[0].maintenance.comment, 'driver update');

  signalPid(h.sandbox.mainPid('maint.service'), 'SIGKILL');
  await agent.waitEvent((e) => e.type === 'state_changed' && e.to === 'down', 10_000, 'down');
  await waitFor(async () => {
    const alerts = (await getJson(`${t!.coord.url}/api/v1/alerts`)).body.alerts as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const down = alerts.find((a) => a.labels.alertname === 'LLMServiceDown');
    return down?.state === 'suppressed' && down.suppressedBy.some((s: { kind: string }) => s.kind === 'maintenance');
  }, 10_000, 'LLMServiceDown suppressed by maintenance');

  // the agent itself restarts: the window comes back from its spool directory
  await agent.stop();
  agent = h.spawnAgent(yaml);
  await waitFor(() => agent.lines.some((l) => l.includes('from before the restart')), 10_000, 'window reloaded');
  await sleep(4000);
  assert.equal(agent.events.filter((e) => e.type === 'restart_started').length, 0, 'no automatic restart in maintenance');
  assert.equal(h.sandbox.mainPid('maint.service'), 0, 'the crashed unit stays down');
  assert.deepEqual(downPages(), [], 'no one paged');

  assert.equal((await admin('DELETE', '/api/v1/hosts/gpu-m/maintenance')).status, 200);
  const started = await agent.waitEvent((e) => e.type === 'restart_started', 15_000, 'restart after off');
  assert.match(started.reason, /crash|refused|down/i);
  await waitFor(() => downPages().length > 0, 15_000, 'LLMServiceDown paged after off');
  await agent.waitEvent((e) => e.type === 'state_changed' && e.to === 'healthy' && e.seq > started.seq, 20_000, 'healthy again');

  const audit = (await admin('GET', '/api/v1/audit?action=maintenance.*')).body.entries.map((e: { action: string; actor: string }) => `${e.action} ${e.actor}`);
  assert.deepEqual(audit, ['maintenance.off auth.adminTokens[0]', 'maintenance.on auth.adminTokens[0]']);
});
