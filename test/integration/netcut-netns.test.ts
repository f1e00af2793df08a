/**
 * A real network cut between an agent and the coordinator (issue: "network namespaces when
 * root"): the agent and its LLM servers live in their own network namespace, joined to the
 * coordinator by a veth pair; the cut takes the host end of the link down (packets vanish,
 * no reset), the heal brings it back. Needs root and iproute2; skips cleanly otherwise (the
 * loopback-proxy variant in fleet.test.ts runs everywhere).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createHarness, waitFor, type Harness } from '../helpers/agent-harness.js';
import { AGENT_TOKEN as TOKEN, startTestCoordinator, type TestCoordinator } from '../coordinator/helpers.js';

const id = randomBytes(3).toString('hex');
const NS = `llmh-${id}`;
const HOST_IF = `vh${id}`;
const NS_IF = `vn${id}`;
// a /30 of the project's own test hosts, chosen per run so parallel runs do not collide
const octet = 16 + (parseInt(id, 16) % 200);
const HOST_IP = `10.231.${octet}.1`;
const NS_IP = `10.231.${octet}.2`;

function canRun(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs iproute2 (ip)';
  const probe = spawnSync('ip', ['netns', 'add', `${NS}-probe`]);
  if (probe.status !== 0) return `cannot create a network namespace here: ${probe.stderr.toString().trim()}`;
  spawnSync('ip', ['netns', 'del', `${NS}-probe`]);
  return null;
}
const skip = canRun();
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNs = ['ip', 'netns', 'exec', NS];

let h: Harness;
let coordinator: TestCoordinator;

before(async () => {
  if (skip) return;
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  ip('link', 'set', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  coordinator = await startTestCoordinator('fleet: { agentLostAfter: 3s, heartbeatInterval: 1s }\n', {}, { host: HOST_IP });
  h = createHarness();
});

after(async () => {
  if (skip) return;
  await h?.cleanup();
  await coordinator?.close();
  spawnSync('ip', ['link', 'del', HOST_IF]);
  spawnSync('ip', ['netns', 'del', NS]);
});

test('network cut (netns + veth): local restart during the cut, offline then online, events in order', { skip: skip ?? false }, async () => {
  // the LLM server runs inside the namespace too: the stand-in starts it there
  const port = 18000 + (parseInt(id, 16) % 2000);
  h.emulatorUnit('ns-llama.service', { kind: 'llamacpp', port });
  const started = spawnSync(inNs[0]!, [...inNs.slice(1), join(h.sandbox.binDir, 'systemctl'), 'start', 'ns-llama.service'], { env: h.sandbox.env });
  assert.equal(started.status, 0, started.stderr?.toString());
  const agent = h.spawnAgent(
    `agent: { id: ns-agent }
coordinator: { url: 'ws://${HOST_IP}:${coordinator.coord.port}/agent', token: '${TOKEN}', spoolDir: '${join(h.dir, 'spool')}', heartbeat: 1s, reconnectMax: 1s }
defaults: { interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms, startupGrace: 10s }
gpu: { enabled: false }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: ns-llama.service }
`,
    {},
    inNs,
  );
  await agent.waitEvent((e) => e.service === 'llama' && e.to === 'healthy', 15_000, 'healthy inside the namespace');
  const host = () => coordinator.coord.fleet.view().hosts.find((x) => x.id === 'ns-agent');
  await waitFor(() => host()?.connected && host()?.services[0]?.state === 'healthy', 10_000, 'connected through the veth');

  ip('link', 'set', HOST_IF, 'down');
  const cutAt = Date.now();
  process.kill(h.sandbox.mainPid('ns-llama.service'), 'SIGKILL');
  const restarted = await agent.waitEvent((e) => e.type === 'restart_succeeded' && Date.parse(e.at) >= cutAt, 15_000, 'local restart during the cut');
  await waitFor(() => host() && !host()!.connected && host()!.services.every((s) => s.state === 'unknown'), 10_000, 'offline at the coordinator');
  assert.ok(Date.now() - cutAt < 3_000 + 6_000, 'offline within about agentLostAfter');

  ip('link', 'set', HOST_IF, 'up');
  await waitFor(() => host()?.connected, 20_000, 'online again after the heal');
  await waitFor(async () => (await coordinator.coord.store.events.listEvents({ host: 'ns-agent', limit: 1000 })).some((e) => e.bootId === restarted.bootId && e.seq === restarted.seq), 10_000, 'the restart event delivered');
  const stored = await coordinator.coord.store.events.listEvents({ host: 'ns-agent', limit: 1000 });
  const seqs = stored.filter((e) => e.bootId === restarted.bootId).map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every event, in order, no gap');
  assert.deepEqual(new Set(seqs), new Set(agent.events.map((e) => e.seq)), 'exactly the events the agent emitted');
  await agent.stop();
});
