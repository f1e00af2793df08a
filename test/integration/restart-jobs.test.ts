/**
 * Fleet restart jobs end to end (docs/http-api.md, restart jobs): a coordinator, four agent
 * processes, and twelve emulated servers (each loads for 2 s after a start) run as units of
 * the service-manager stand-in behind the logging wrapper of test/helpers/restart-fleet.ts.
 * What is down or loading at any moment is read from the servers' own logs, not from the
 * coordinator's view.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RestartFleet, JobsApi, unitOf } from '../helpers/restart-fleet.js';
import { ADMIN_TOKEN, AGENT_TOKEN, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

const HOSTS = ['gpu-a', 'gpu-b', 'gpu-c', 'gpu-d'];
const SERVICES = ['s1', 's2', 's3'];
const MAX_PARALLEL = 3;

let fleet: RestartFleet;
let t: TestCoordinator;
let api: JobsApi;

before(async () => {
  t = await startTestCoordinator('fleet: { heartbeatInterval: 1s, agentLostAfter: 3s }');
  api = new JobsApi(t.coord.url, ADMIN_TOKEN);
  fleet = await RestartFleet.create({ hosts: HOSTS, services: SERVICES, loadTime: '2s' });
  for (const host of HOSTS) await fleet.spawnAgent(host, { url: wsUrl(t.coord), token: AGENT_TOKEN });
  await api.waitFleetHealthy(Object.fromEntries(HOSTS.map((h) => [h, SERVICES])), 40_000);
});

after(async () => {
  await fleet?.cleanup();
  await t?.close();
});

test(`maxParallel ${MAX_PARALLEL} over 12 services on 4 agents: never more than ${MAX_PARALLEL} down or loading, each restarted once, in order, succeeded`, async () => {
  const from = Date.now();
  const id = await api.createJob({ selector: { hosts: ['gpu-*'] }, maxParallel: MAX_PARALLEL, healthTimeout: '60s', reason: 'rollout' });
  const job = await api.waitJobEnd(id, 55_000);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.targets));
  assert.deepEqual(
    job.targets.map((x: { host: string; service: string }) => `${x.host}/${x.service}`),
    HOSTS.flatMap((h) => SERVICES.map((s) => `${h}/${s}`)),
    'targets host by host, in config order',
  );
  const max = fleet.maxOutAtOnce(from);
  assert.ok(max <= MAX_PARALLEL, `at most ${MAX_PARALLEL} targets down or loading at once, saw ${max}`);
  assert.equal(max, MAX_PARALLEL, `${MAX_PARALLEL} at a time, not fewer`);
  const events = fleet.events(from);
  let lastStart = 0;
  for (const target of job.targets as { host: string; service: string; state: string; reason: string; startedAt: string; endedAt: string }[]) {
    const unit = unitOf(target.host, target.service);
    const starts = fleet.starts(target.host, target.service, from);
    if (starts !== 1) {
      const life = events.filter((e) => e.unit === unit).map((e) => `${new Date(e.t).toISOString()} ${e.ev}`).join('\n');
      assert.fail(`${unit} restarted ${starts} times, not once\nits process:\n${life}\nthe agent's events:\n${await api.story(target.host, target.service, from)}\nits journal:\n${fleet.journalTail(target.host, target.service)}`);
    }
    const started = Date.parse(target.startedAt);
    assert.ok(started >= lastStart, `${unit} started in job order`);
    lastStart = started;
    assert.equal(target.state, 'healthy');
    assert.equal(target.reason, 'reported healthy after the restart');
    // the gate: the coordinator counted the target healthy only after its server really answered again
    const ready = events.find((e) => e.unit === unit && e.ev === 'ready');
    assert.ok(ready, `${unit} answered /health after its restart`);
    // the wrapper's own poll sees readiness up to 50 ms late, so the sound bound is its last failed poll
    const notYet = ready.lastFail ?? ready.t;
    assert.ok(Date.parse(target.endedAt) > notYet, `${unit} healthy in the job (${target.endedAt}) only after its server was still not answering (${new Date(notYet).toISOString()})`);
  }
});
