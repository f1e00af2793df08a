/**
 * 429 end to end through the coordinator (docs/states-and-alerts.md: "429 and Retry-After honoured"): a
 * simulated agent's service goes down, the alert fires, and the Slack stand-in answers the
 * first request with 429 and `Retry-After: 2`. The notification is delivered exactly once,
 * no earlier than 2 s after the 429, and the delivery log says so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { silentLogger } from '../../shared/logger.js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/main.js';
import { startSlackReceiver, type FakeReceiver } from '../helpers/receivers.js';
import { SimAgent } from '../../bench/lib/sim-agent.js';

const AGENT_TOKEN = 'rl-agent-token-0123456789';
let dir: string;
let coord: RunningCoordinator;
let slack: FakeReceiver;
let agent: SimAgent;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmh-alerts-429-'));
  slack = await startSlackReceiver();
  const yaml = `listen: 127.0.0.1:0
dataDir: ${join(dir, 'data')}
auth: { agentTokens: ['${AGENT_TOKEN}'] }
fleet: { agentLostAfter: 30s, heartbeatInterval: 1s }
alerts: { groupBy: [alertname], groupWait: 500ms, groupInterval: 30s, repeatInterval: 4h }
notify:
  - { name: ops-slack, type: slack, url: '${slack.url}' }
`;
  coord = await startCoordinator(parseCoordinatorConfig(join(dir, 'coordinator.yaml'), yaml, { env: {} }), { logger: silentLogger(), version: 'test' });
  agent = new SimAgent({ url: `${coord.url.replace(/^http/, 'ws')}/agent`, token: AGENT_TOKEN, id: 'gpu-rl', services: ['qwen-vl', 'llama'] });
  await agent.connect();
});

after(async () => {
  agent?.terminate();
  await coord?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('Slack answers 429 with Retry-After: 2: delivered exactly once, no earlier than 2 s after the 429', async () => {
  slack.rateLimitNext(1, 2);
  agent.down(['qwen-vl']);
  await agent.waitAcked();
  await slack.waitFor(1, 15_000);
  assert.equal(slack.rejected.length, 1, `one 429: ${JSON.stringify(slack.rejected)}`);
  assert.equal(slack.rejected[0]!.status, 429);
  const waited = slack.received[0]!.at - slack.rejected[0]!.at;
  assert.ok(waited >= 2000, `retried ${waited} ms after the 429 (Retry-After: 2)`);
  assert.ok(waited < 15_000, `and not much later (${waited} ms)`);
  assert.ok((slack.received[0]!.body as { text: string }).text.startsWith('[FIRING:1] LLMServiceDown'));

  await sleep(4000);
  assert.equal(slack.received.length, 1, 'delivered exactly once');
  assert.equal(slack.rejected.length, 1, 'no other attempt');

  const res = await fetch(`${coord.url}/api/v1/notifications?receiver=ops-slack`);
  const body = (await res.json()) as { outbox: unknown[]; deliveries: { outcome: string; status: number | null; at: string }[] };
  assert.deepEqual(body.outbox, [], 'nothing pending or failed');
  assert.deepEqual(body.deliveries.map((d) => [d.outcome, d.status]), [['retry', 429], ['delivered', 200]], 'the delivery log: a 429 retried, then delivered');
  assert.ok(Date.parse(body.deliveries[1]!.at) - Date.parse(body.deliveries[0]!.at) >= 2000, 'the log shows the wait too');
});
