/**
 * The agent daemon (standalone, interval 1s, timeout
 * 1s, retries 3, retryDelay 500ms) against real emulator processes managed by the
 * service-manager stand-in, with real signals.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, agentYaml, freePort, waitFor, type Harness, type LoggedEvent } from '../helpers/agent-harness.js';

let h: Harness;
before(() => {
  h = createHarness();
});
after(async () => {
  await h.cleanup();
});

const restarts = (events: LoggedEvent[], service: string) => events.filter((e) => e.type === 'restart_started' && e.service === service);
const isState = (service: string, to: string) => (e: LoggedEvent) => e.type === 'state_changed' && e.service === service && e.to === to;


function svc(name: string, kind: string, port: number, unit: string, extra = ''): string {
  return `  - name: ${name}\n    kind: ${kind}\n    url: http://127.0.0.1:${port}\n    unit: ${unit}\n${extra}`;
}

test('a SIGKILLed server is restarted and recovers', async () => {
  const port = await h.startEmulator('kill-me.service', 'llamacpp');
  const agent = h.spawnAgent(agentYaml(svc('llama', 'llamacpp', port, 'kill-me.service')));
  await agent.waitEvent(isState('llama', 'healthy'), 10_000, 'healthy');
  const pid = h.sandbox.mainPid('kill-me.service');
  process.kill(pid, 'SIGKILL');
  const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'llama', 10_000, 'restart_started');
  assert.match(started.reason, /crash|refused/i);
  await agent.waitEvent((e) => isState('llama', 'healthy')(e) && e.seq > started.seq, 10_000, 'healthy again');
  assert.notEqual(h.sandbox.mainPid('kill-me.service'), pid);
  assert.equal(restarts(agent.events, 'llama').length, 1);
  await agent.stop();
});

test('a SIGSTOPped (hung) server is restarted after its retries', async () => {
  const port = await h.startEmulator('stop-me.service', 'vllm');
  const agent = h.spawnAgent(agentYaml(svc('qwen', 'vllm', port, 'stop-me.service')));
  await agent.waitEvent(isState('qwen', 'healthy'), 10_000, 'healthy');
  const pid = h.sandbox.mainPid('stop-me.service');
  process.kill(pid, 'SIGSTOP');
  try {
    const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'qwen', 15_000, 'restart_started');
    assert.match(started.reason, /\/health: no answer within 1000ms \(3 attempts\)/);
    await agent.waitEvent((e) => isState('qwen', 'healthy')(e) && e.seq > started.seq, 15_000, 'healthy again');
    assert.equal(restarts(agent.events, 'qwen').length, 1);
  } finally {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* already gone */
    }
  }
  await agent.stop();
});

test('health 200 but generation hangs: restarted once deep probes fail', async () => {
  const port = await h.startEmulator('gen-hang.service', 'llamacpp');
  const agent = h.spawnAgent(agentYaml(svc('gen', 'llamacpp', port, 'gen-hang.service', '    deepProbe: { every: 1s, timeout: 1s, vision: true }\n')));
  await agent.waitEvent(isState('gen', 'healthy'), 10_000, 'healthy');
  await h.setMode(port, 'gen_hang');
  const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'gen', 15_000, 'restart_started');
  assert.match(started.reason, /chat\/completions: no answer within/);
  await agent.waitEvent((e) => isState('gen', 'healthy')(e) && e.seq > started.seq, 15_000, 'healthy again');
  assert.equal(restarts(agent.events, 'gen').length, 1);
  await agent.stop();
});

test('loading inside the startup grace is not restarted; never finishing loading is, after the grace', async () => {
  const slowPort = await freePort();
  h.emulatorUnit('loads-slowly.service', { kind: 'llamacpp', port: slowPort, args: ['--load-time', '4s'] });
  await h.start('loads-slowly.service');
  const stuckPort = await freePort();
  h.emulatorUnit('never-loads.service', { kind: 'llamacpp', port: stuckPort, args: ['--load-time', 'inf'] });
  await h.start('never-loads.service');
  const agent = h.spawnAgent(
    agentYaml(
      `${svc('slow', 'llamacpp', slowPort, 'loads-slowly.service', '    startupGrace: 8s\n')}${svc('stuck', 'llamacpp', stuckPort, 'never-loads.service', '    startupGrace: 3s\n')}`,
    ),
  );
  await agent.waitEvent(isState('slow', 'starting'), 10_000, 'slow starting');
  await agent.waitEvent(isState('slow', 'healthy'), 15_000, 'slow healthy after loading');
  const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'stuck', 15_000, 'stuck restarted');
  assert.match(started.reason, /still loading after the startup grace/);
  assert.equal(restarts(agent.events, 'slow').length, 0, 'a server loading inside its grace is never restarted');
  await agent.stop();
});

test('a server that dies right after every restart: at most maxRestarts in the window, then gave_up', async () => {
  const port = await freePort();
  h.emulatorUnit('crash-loop.service', { kind: 'vllm', port, args: ['--crash-after', '1500ms'] });
  await h.start('crash-loop.service');
  const agent = h.spawnAgent(
    agentYaml(svc('loop', 'vllm', port, 'crash-loop.service', '    startupGrace: 5s\n'), 'restart:\n  maxRestarts: 2\n  window: 5m\n  backoff: 500ms\n'),
  );
  const gaveUp = await agent.waitEvent((e) => e.type === 'gave_up' && e.service === 'loop', 30_000, 'gave_up');
  assert.match(gaveUp.reason, /2 automatic restarts/);
  // stays given up: no further restarts while it keeps dying
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(restarts(agent.events, 'loop').length, 2);
  assert.ok(agent.events.some(isState('loop', 'gave_up')));
  await agent.stop();
});

test('vLLM /health 200 while metrics show requests waiting and no tokens: restarted after stallAfter; busy with progress is not', async () => {
  const stallPort = await h.startEmulator('stalled.service', 'vllm');
  const busyPort = await h.startEmulator('busy.service', 'vllm');
  const agent = h.spawnAgent(agentYaml(`${svc('stalled', 'vllm', stallPort, 'stalled.service')}${svc('busy', 'vllm', busyPort, 'busy.service')}`));
  await agent.waitEvent(isState('stalled', 'healthy'), 10_000, 'stalled healthy');
  await agent.waitEvent(isState('busy', 'healthy'), 10_000, 'busy healthy');
  await h.setMode(stallPort, 'stall');
  await h.setMode(busyPort, 'busy');
  const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'stalled', 15_000, 'stalled restarted');
  assert.match(started.reason, /stalled: \d+ running, \d+ waiting, no progress/);
  // the busy one has been busy for longer than stallAfter (3s) by now
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(restarts(agent.events, 'busy').length, 0, 'busy with progress is not restarted');
  await agent.stop();
});

test('restarting the agent itself restarts no server', async () => {
  const port = await h.startEmulator('adopted.service', 'ollama');
  h.sandbox.clearCalls();
  const cfg = agentYaml(svc('ollama', 'ollama', port, 'adopted.service'));
  const first = h.spawnAgent(cfg);
  await first.waitEvent(isState('ollama', 'healthy'), 10_000, 'healthy');
  const pid = h.sandbox.mainPid('adopted.service');
  assert.equal(await first.stop('SIGTERM'), 0);
  const second = h.spawnAgent(cfg);
  await second.waitEvent(isState('ollama', 'healthy'), 10_000, 'healthy after agent restart');
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(restarts(second.events, 'ollama').length, 0);
  assert.equal(h.sandbox.mainPid('adopted.service'), pid, 'same server process');
  assert.ok(!h.sandbox.calls().some((argv) => argv.includes('restart')), 'systemctl restart never ran');
  await second.stop();
});

test('restarts disabled: a crash is still seen at once (unit watched), and nothing is restarted', async () => {
  const port = await h.startEmulator('observe-only.service', 'llamacpp');
  const callsBefore = h.sandbox.calls().length;
  const agent = h.spawnAgent(agentYaml(svc('observed', 'llamacpp', port, 'observe-only.service'), 'restart: { enabled: false }\n'));
  await agent.waitEvent(isState('observed', 'healthy'), 10_000, 'healthy');
  process.kill(h.sandbox.mainPid('observe-only.service'), 'SIGKILL');
  const down = await agent.waitEvent(isState('observed', 'down'), 10_000, 'down');
  assert.match(down.reason, /^crashed: .*unit not running/);
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(restarts(agent.events, 'observed').length, 0);
  const ours = h.sandbox.calls().slice(callsBefore).filter((argv) => argv.includes('observe-only.service'));
  assert.ok(ours.some((argv) => argv.includes('show')), 'the unit is watched');
  assert.equal(ours.filter((argv) => argv.includes('restart') || argv.includes('start')).length, 0);
  await agent.stop();
});
