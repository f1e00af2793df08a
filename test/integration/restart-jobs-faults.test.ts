/**
 * Restart jobs under faults (docs/http-api.md, restart jobs; docs/protocol.md, command), with
 * the coordinator as a real `llm-health coordinator` process on a fixed port and data dir, two
 * real agents (gpu-b's connection runs through a TCP proxy the test can cut), and emulated
 * servers behind the logging wrapper of test/helpers/restart-fleet.ts: who was restarted how
 * often is read from the servers' own logs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../helpers/agent-harness.js';
import { spawnCoordinator, type CoordinatorChild } from '../helpers/cli.js';
import { JobsApi, RestartFleet } from '../helpers/restart-fleet.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const AGENT_TOKEN = 'jobs-agent-token-0123456789';
const ADMIN_TOKEN = 'jobs-admin-token-0123456789';
const VIEWER_TOKEN = 'jobs-viewer-token-0123456789';
const SERVICES = ['s1', 's2'];
// gpu-a gives up after one automatic restart, so the gave_up test is quick
const GPU_A_EXTRA = 'restart:\n  maxRestarts: 1\n  window: 5m\n  backoff: 500ms\n';

let dir: string;
let configFile: string;
let port: number;
let coordinator: CoordinatorChild | undefined;
let fleet: RestartFleet;
let proxy: TcpProxy;
let api: JobsApi;
const agentUrl = () => `ws://127.0.0.1:${port}/agent`;
const proxiedUrl = () => `ws://127.0.0.1:${proxy.port}/agent`;

async function startCoordinator(): Promise<void> {
  coordinator = await spawnCoordinator(configFile);
}

async function killCoordinator(): Promise<void> {
  const c = coordinator;
  coordinator = undefined;
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGKILL');
  await c.exited;
}

const jobSummary = (job: { targets: { host: string; service: string; state: string; reason: string }[] }) =>
  job.targets.map((x) => `${x.host}/${x.service} ${x.state}: ${x.reason}`).join('\n');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmh-jobs-faults-'));
  port = await freePort();
  configFile = join(dir, 'coordinator.yaml');
  writeFileSync(
    configFile,
    `listen: 127.0.0.1:${port}
dataDir: ${join(dir, 'data')}
auth:
  agentTokens: ['${AGENT_TOKEN}']
  adminTokens: [{ name: alice, token: '${ADMIN_TOKEN}' }]
  viewerTokens: ['${VIEWER_TOKEN}']
fleet: { heartbeatInterval: 1s, agentLostAfter: 3s }
log: { level: info }
`,
  );
  await startCoordinator();
  api = new JobsApi(`http://127.0.0.1:${port}`, ADMIN_TOKEN);
  proxy = await startTcpProxy(port);
  fleet = await RestartFleet.create({ hosts: ['gpu-a', 'gpu-b'], services: SERVICES, loadTime: '2s' });
  await fleet.spawnAgent('gpu-a', { url: agentUrl(), token: AGENT_TOKEN, extra: GPU_A_EXTRA });
  await fleet.spawnAgent('gpu-b', { url: proxiedUrl(), token: AGENT_TOKEN });
  await api.waitFleetHealthy({ 'gpu-a': SERVICES, 'gpu-b': SERVICES }, 40_000);
});

after(async () => {
  await fleet?.cleanup();
  await proxy?.close();
  await killCoordinator();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a real coordinator: no token 401, a viewer token 403, and no job is created', async () => {
  const body = { selector: { hosts: ['gpu-*'] }, reason: 'not allowed' };
  assert.equal((await new JobsApi(api.baseUrl, null).call('POST', '/api/v1/restarts', body)).status, 401);
  assert.equal((await new JobsApi(api.baseUrl, 'not-a-token').call('POST', '/api/v1/restarts', body)).status, 401);
  assert.equal((await new JobsApi(api.baseUrl, VIEWER_TOKEN).call('POST', '/api/v1/restarts', body)).status, 403);
  assert.equal((await new JobsApi(api.baseUrl, null).call('GET', '/api/v1/restarts')).status, 401, 'with viewer tokens set, reading jobs needs one');
  const list = await new JobsApi(api.baseUrl, VIEWER_TOKEN).call('GET', '/api/v1/restarts');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.jobs, [], 'nothing was started');
});

test('coordinator SIGKILLed mid-job and started again: the job finishes, every target restarted exactly once', async () => {
  const from = Date.now();
  const id = await api.createJob({ selector: { hosts: ['gpu-*'] }, maxParallel: 1, healthTimeout: '60s' });
  // the first target done, the second in flight, two pending: every kind of target crosses the restart
  await api.waitJob(id, (j) => j.targets[0].state === 'healthy' && ['restarting', 'waiting'].includes(j.targets[1].state), 30_000, 'second target in flight');
  await killCoordinator();
  await startCoordinator();
  const job = await api.waitJobEnd(id, 45_000);
  assert.equal(job.state, 'succeeded', jobSummary(job));
  assert.equal(job.createdBy, 'alice');
  for (const host of ['gpu-a', 'gpu-b']) {
    for (const s of SERVICES) assert.equal(fleet.starts(host, s, from), 1, `${host}/${s} restarted exactly once`);
  }
  assert.ok(fleet.maxOutAtOnce(from) <= 1, 'maxParallel 1 held across the coordinator restart');
});

test("agent's connection cut while its command runs: the command runs once, its result arrives after the reconnect", async () => {
  const from = Date.now();
  const agent = fleet.agents.get('gpu-b')!;
  // the server takes 3 s to stop, so the restart is still running when the connection is cut
  fleet.setFault('gpu-b', 's1', 'stop-delay', '3000');
  try {
    const id = await api.createJob({ selector: { hosts: ['gpu-b'], services: ['s1'] }, maxParallel: 1, healthTimeout: '60s' });
    const received = await agent.waitEvent((e) => e.type === 'command_received' && e.service === 's1' && Date.parse(e.at) >= from, 15_000, 'command_received');
    await proxy.sever();
    const result = await agent.waitEvent((e) => e.type === 'command_result' && e.seq > received.seq, 20_000, 'command_result while cut off');
    assert.equal((result.data as { ok: boolean }).ok, true, result.reason);
    const during = await api.job(id);
    assert.equal(during.targets[0].state, 'restarting', 'the coordinator has not seen the result while the agent is cut off');
    await proxy.heal();
    const job = await api.waitJobEnd(id, 30_000);
    assert.equal(job.state, 'succeeded', jobSummary(job));
    assert.match(job.targets[0].reason, /reported healthy/);
    assert.equal(fleet.starts('gpu-b', 's1', from), 1, 'restarted exactly once');
    // the coordinator sent the command again on the reconnect; the agent did not run it again
    const commandId = (received.data as { id: string }).id;
    await waitFor(() => agent.lines.some((l) => l.includes('command already received: not run again') && l.includes(commandId)), 5_000, 'the repeat refused');
  } finally {
    fleet.setFault('gpu-b', 's1', 'stop-delay', null);
    await proxy.heal().catch(() => undefined);
  }
});

test('a gave_up service is brought back by a job', async () => {
  const agent = fleet.agents.get('gpu-a')!;
  fleet.setFault('gpu-a', 's1', 'broken');
  fleet.setFault('gpu-a', 's1', 'crash');
  const gaveUp = await agent.waitEvent((e) => e.type === 'gave_up' && e.service === 's1', 30_000, 'gave_up');
  fleet.setFault('gpu-a', 's1', 'broken', null);
  fleet.setFault('gpu-a', 's1', 'crash', null);
  // the coordinator's view too: a job is how an operator brings it back
  await waitFor(async () => {
    const res = await api.call('GET', '/api/v1/fleet');
    const host = res.body.hosts?.find((x: { id: string }) => x.id === 'gpu-a');
    return host?.services.find((s: { name: string }) => s.name === 's1')?.state === 'gave_up';
  }, 10_000, 'gpu-a/s1 gave_up in the fleet view');
  const from = Date.now();
  const id = await api.createJob({ selector: { hosts: ['gpu-a'], services: ['s1'] }, healthTimeout: '60s', reason: 'bring back' });
  const job = await api.waitJobEnd(id, 30_000);
  assert.equal(job.state, 'succeeded', jobSummary(job));
  assert.equal(fleet.starts('gpu-a', 's1', from), 1);
  const healthyAgain = await agent.waitEvent((e) => e.type === 'state_changed' && e.service === 's1' && e.to === 'healthy' && e.seq > gaveUp.seq, 5_000, 'healthy again');
  assert.ok(healthyAgain);
});

test("a command for a service no longer in the agent's config is refused by the agent and fails its target", async () => {
  const from = Date.now();
  // gpu-a/s2 stops slowly, so gpu-b's turn comes only after its agent is back with the new config
  fleet.setFault('gpu-a', 's2', 'stop-delay', '6000');
  try {
    const id = await api.createJob({ selector: { services: ['s2'] }, maxParallel: 1, healthTimeout: '60s' });
    const created = await api.job(id);
    assert.deepEqual(created.targets.map((x: { host: string }) => x.host), ['gpu-a', 'gpu-b']);
    await fleet.spawnAgent('gpu-b', { url: proxiedUrl(), token: AGENT_TOKEN, services: ['s1'] });
    await api.waitFleetHealthy({ 'gpu-b': ['s1'] }, 20_000);
    const meanwhile = await api.job(id);
    assert.equal(meanwhile.targets[1].state, 'pending', `gpu-b's turn must come after its agent reconnected: ${jobSummary(meanwhile)}`);
    const job = await api.waitJobEnd(id, 40_000);
    assert.equal(job.state, 'failed', jobSummary(job));
    assert.equal(job.targets[0].state, 'healthy', jobSummary(job));
    assert.equal(job.targets[1].state, 'failed');
    assert.match(job.targets[1].reason, /^agent: refused: service s2 is not in this agent's config/);
    assert.equal(fleet.starts('gpu-b', 's2', from), 0, 'the unit was not touched');
  } finally {
    fleet.setFault('gpu-a', 's2', 'stop-delay', null);
  }
});

test('targets that never come back: the job stops after maxFailures, the rest skipped', async () => {
  const from = Date.now();
  const targets = [['gpu-a', 's1'], ['gpu-a', 's2'], ['gpu-b', 's1']] as const;
  for (const [host, s] of targets) fleet.setFault(host, s, 'broken');
  const id = await api.createJob({ selector: { hosts: ['gpu-*'] }, maxParallel: 1, maxFailures: 1, healthTimeout: '3s' });
  const job = await api.waitJobEnd(id, 30_000);
  assert.equal(job.state, 'failed', jobSummary(job));
  assert.deepEqual(job.targets.map((x: { host: string; service: string; state: string }) => `${x.host}/${x.service} ${x.state}`), ['gpu-a/s1 failed', 'gpu-a/s2 failed', 'gpu-b/s1 skipped']);
  for (const x of job.targets.slice(0, 2)) assert.match(x.reason, /not reported healthy within 3s|agent: /);
  assert.match(job.targets[2].reason, /more than maxFailures \(1\)/);
  assert.ok(fleet.starts('gpu-a', 's1', from) >= 1 && fleet.starts('gpu-a', 's2', from) >= 1, 'the failed ones were restarted');
  assert.equal(fleet.starts('gpu-b', 's1', from), 0, 'the skipped one was not');
});
