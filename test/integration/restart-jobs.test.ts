/**
 * Fleet restart jobs end to end (docs/http-api.md, restart jobs): a coordinator, two agent
 * processes, and emulated servers run as units of the service-manager stand-in, each behind
 * a small wrapper that logs when its process starts, is told to stop, and answers /health
 * again. What is down or loading at any moment is read from those logs, not from the
 * coordinator's view.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHarness, CLI, freePort, waitFor, type Harness } from '../helpers/agent-harness.js';
import { ADMIN_TOKEN, AGENT_TOKEN, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

const WRAPPER = `import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
const [log, unit, port, ...argv] = process.argv.slice(2);
const note = (ev) => appendFileSync(log, JSON.stringify({ unit, ev, t: Date.now() }) + '\\n');
note('start');
const child = spawn(process.execPath, argv, { stdio: 'inherit' });
process.on('SIGTERM', () => { note('stop'); child.kill('SIGTERM'); });
child.on('exit', (code) => process.exit(code ?? 0));
const poll = setInterval(async () => {
  try {
    const res = await fetch('http://127.0.0.1:' + port + '/health');
    await res.arrayBuffer();
    if (res.ok) { note('ready'); clearInterval(poll); }
  } catch {}
}, 50);
`;

let h: Harness;
let t: TestCoordinator;
let lifeLog: string;
const HOSTS = ['gpu-a', 'gpu-b'];
const SERVICES = ['s1', 's2'];

interface LifeEvent {
  unit: string;
  ev: 'start' | 'stop' | 'ready';
  t: number;
}
const lifeEvents = (): LifeEvent[] =>
  readFileSync(lifeLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LifeEvent);

/** The most units that were down or loading at the same moment after `from`: from a stop to the next ready. */
function maxOutAtOnce(events: LifeEvent[], from: number): number {
  const marks = events.filter((e) => e.t >= from && e.ev !== 'start').sort((a, b) => a.t - b.t || (a.ev === 'ready' ? -1 : 1));
  let out = 0;
  let max = 0;
  for (const e of marks) {
    out += e.ev === 'stop' ? 1 : -1;
    max = Math.max(max, out);
  }
  return max;
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${t.coord.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function jobDone(id: string, timeoutMs: number): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let job: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    job = (await getJson(`${t.coord.url}/api/v1/restarts/${id}`, ADMIN_TOKEN)).body;
    return !['pending', 'running'].includes(job.state);
  }, timeoutMs, `job ${id} to end`);
  return job;
}

before(async () => {
  h = createHarness();
  t = await startTestCoordinator('fleet: { heartbeatInterval: 1s, agentLostAfter: 3s }');
  lifeLog = join(h.dir, 'life.log');
  writeFileSync(lifeLog, '');
  const wrapper = join(h.dir, 'wrap.mjs');
  writeFileSync(wrapper, WRAPPER);
  for (const host of HOSTS) {
    const lines: string[] = [];
    for (const s of SERVICES) {
      const unit = `${host}-${s}.service`;
      const port = await freePort();
      h.sandbox.writeUnit(unit, { execStart: [process.execPath, wrapper, lifeLog, unit, String(port), CLI, 'emulate', '--kind', 'llamacpp', '--port', String(port), '--load-time', '2s'], timeoutStopSec: '3s' });
      await h.start(unit);
      lines.push(`  - { name: ${s}, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: ${unit} }`);
    }
    h.spawnAgent(`agent: { id: ${host} }
coordinator: { url: '${wsUrl(t.coord)}', token: '${AGENT_TOKEN}', spoolDir: '${join(h.dir, `spool-${host}`)}', heartbeat: 1s, reconnectMax: 2s }
defaults: { interval: 1s, timeout: 1s, retries: 2, retryDelay: 300ms, startupGrace: 20s }
gpu: { enabled: false }
services:
${lines.join('\n')}
`);
  }
  await waitFor(async () => {
    const fleet = (await getJson(`${t.coord.url}/api/v1/fleet`)).body as { hosts: { services: { state: string }[] }[] };
    return fleet.hosts.length === 2 && fleet.hosts.every((x) => x.services.length === 2 && x.services.every((s) => s.state === 'healthy'));
  }, 30_000, 'every service healthy');
});

after(async () => {
  await h?.cleanup();
  await t?.close();
});

test('maxParallel 2 over 4 services on 2 agents: never more than 2 down or loading, each restarted once, succeeded', async () => {
  const from = Date.now();
  const created = await post('/api/v1/restarts', { selector: { hosts: ['gpu-*'] }, maxParallel: 2, healthTimeout: '60s', reason: 'rollout' });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  assert.equal(created.body.targets.length, 4);
  const job = await jobDone(created.body.id, 60_000);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.targets));
  const events = lifeEvents();
  const max = maxOutAtOnce(events, from);
  assert.ok(max <= 2, `at most 2 targets down or loading at once, saw ${max}`);
  assert.equal(max, 2, 'two at a time, not one by one');
  for (const host of HOSTS) {
    for (const s of SERVICES) {
      const unit = `${host}-${s}.service`;
      assert.equal(events.filter((e) => e.unit === unit && e.t >= from && e.ev === 'start').length, 1, `${unit} restarted exactly once`);
    }
  }
});
