/**
 * `llm-health check` with the seed fleet emulated and
 * the systemctl stand-in on PATH (seed parity: exit codes, restart, --wait, fallback).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHarness, CLI, freePort, waitFor, type Harness } from '../helpers/agent-harness.js';

let h: Harness;
let seedFile: string;
const ports = { llama: 0, qwen: 0, qwenFallback: 0 };

function check(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'check', '-c', seedFile, ...args], { env: h.sandbox.env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const restartCalls = () => h.sandbox.calls().filter((argv) => argv.includes('restart'));

before(async () => {
  h = createHarness();
  ports.llama = await freePort();
  ports.qwen = await freePort();
  ports.qwenFallback = await freePort();
  h.emulatorUnit('llama-vision-server.service', { kind: 'llamacpp', port: ports.llama });
  h.emulatorUnit('qwen3-vl-server.service', { kind: 'vllm', port: ports.qwen });
  h.emulatorUnit('qwen3-vl-fallback.service', { kind: 'vllm', port: ports.qwenFallback });
  for (const u of ['llama-vision-server.service', 'qwen3-vl-server.service', 'qwen3-vl-fallback.service']) await h.start(u);
  for (const p of Object.values(ports)) await waitFor(() => h.healthy(`http://127.0.0.1:${p}/health`), 10_000, `port ${p}`);
  seedFile = join(h.dir, 'seed.yaml');
  writeFileSync(
    seedFile,
    `defaults: { interval: 10s, timeout: 2s, retries: 3, retryDelay: 500ms }
gpu: { enabled: false }
services:
  - name: llama-vision
    kind: llamacpp
    url: http://127.0.0.1:${ports.llama}
    unit: llama-vision-server.service
    deepProbe: { every: 1m, timeout: 10s, vision: true }
  - name: qwen-vl
    kind: vllm
    url: http://127.0.0.1:${ports.qwen}
    fallbackUrls: [http://127.0.0.1:${ports.qwenFallback}]
    unit: qwen3-vl-server.service
log:
  file: ${join(h.dir, 'llm_health_check.log')}
`,
  );
});
after(async () => {
  await h.cleanup();
});

test('all healthy: exit 0, --json has the documented shape', async () => {
  const r = await check(['--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { ok: boolean; services: Record<string, unknown>[] };
  assert.equal(report.ok, true);
  assert.deepEqual(report.services.map((s) => [s.name, s.state]), [['llama-vision', 'healthy'], ['qwen-vl', 'healthy']]);
  for (const s of report.services) {
    assert.deepEqual(Object.keys(s).sort(), ['kind', 'latencyMs', 'name', 'reason', 'restartOutcome', 'restarted', 'servedBy', 'state', 'url']);
  }
  assert.equal(restartCalls().length, 0);
});

test('8001 killed: exit 1 and exactly `restart llama-vision-server.service`', async () => {
  h.sandbox.clearCalls();
  process.kill(h.sandbox.mainPid('llama-vision-server.service'), 'SIGKILL');
  await waitFor(() => h.sandbox.mainPid('llama-vision-server.service') === 0, 5000, 'unit failed');
  const r = await check([]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /llama-vision\s+llamacpp\s+down/);
  assert.deepEqual(restartCalls(), [['restart', 'llama-vision-server.service']]);
  await waitFor(() => h.healthy(`http://127.0.0.1:${ports.llama}/health`), 10_000, 'llama back');
});

test('--wait 30s on the next failure exits 0 once the server is back', async () => {
  h.sandbox.clearCalls();
  process.kill(h.sandbox.mainPid('llama-vision-server.service'), 'SIGKILL');
  await waitFor(() => h.sandbox.mainPid('llama-vision-server.service') === 0, 5000, 'unit failed');
  const r = await check(['--wait', '30s', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { ok: boolean; services: { name: string; state: string; restarted: boolean; restartOutcome: string }[] };
  const llama = report.services.find((s) => s.name === 'llama-vision')!;
  assert.equal(llama.state, 'healthy');
  assert.equal(llama.restarted, true);
  assert.equal(llama.restartOutcome, 'succeeded');
  assert.deepEqual(restartCalls(), [['restart', 'llama-vision-server.service']]);
});

test('8002 down, 8003 up: qwen-vl is degraded and not restarted', async () => {
  h.sandbox.clearCalls();
  const r0 = await h.sandbox.systemctl('stop', 'qwen3-vl-server.service');
  assert.equal(r0.code, 0);
  h.sandbox.clearCalls();
  const r = await check(['--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { services: { name: string; state: string; servedBy: string; restarted: boolean }[] };
  const qwen = report.services.find((s) => s.name === 'qwen-vl')!;
  assert.equal(qwen.state, 'degraded');
  assert.equal(qwen.servedBy, `http://127.0.0.1:${ports.qwenFallback}`);
  assert.equal(qwen.restarted, false);
  assert.deepEqual(restartCalls(), []);
  await h.start('qwen3-vl-server.service');
});

test('--no-restart reports without restarting; a usage error exits 2', async () => {
  h.sandbox.clearCalls();
  process.kill(h.sandbox.mainPid('llama-vision-server.service'), 'SIGKILL');
  await waitFor(() => h.sandbox.mainPid('llama-vision-server.service') === 0, 5000, 'unit failed');
  const r = await check(['--no-restart']);
  assert.equal(r.code, 1);
  assert.deepEqual(restartCalls(), []);
  const bad = await check(['--wait', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--wait expects a duration/);
  await h.start('llama-vision-server.service');
});

test('systemd refusing the start (start-limit-hit): check reports it as the daemon does', async () => {
  const runs: { name: string; port: number }[] = [];
  for (const name of ['limited-check', 'limited-agent']) {
    const port = await freePort();
    h.sandbox.writeUnit(`${name}.service`, { execStart: [process.execPath, CLI, 'emulate', '--kind', 'llamacpp', '--port', String(port)], startLimitBurst: 1, startLimitIntervalSec: '1min' });
    await h.start(`${name}.service`);
    await waitFor(() => h.healthy(`http://127.0.0.1:${port}/health`), 10_000, `${name} up`);
    // hung, not crashed: systemd keeps a crashed unit's Result (signal) when it refuses the
    // start, and reports start-limit-hit only for a unit that was not failed already
    process.kill(h.sandbox.mainPid(`${name}.service`), 'SIGSTOP');
    runs.push({ name, port });
  }
  const service = (name: string, port: number) => `services:\n  - { name: ${name}, kind: llamacpp, url: "http://127.0.0.1:${port}", unit: ${name}.service }\n`;
  const file = join(h.dir, 'limited.yaml');
  writeFileSync(file, `defaults: { timeout: 1s, retries: 2, retryDelay: 200ms }\ngpu: { enabled: false }\n${service('limited-check', runs[0]!.port)}`);
  const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'check', '-c', file, '--json'], { env: h.sandbox.env, encoding: 'utf8', timeout: 60_000 }, (err, stdout) => resolve({ code: err ? 1 : 0, stdout }));
  });
  assert.equal(out.code, 1);
  const report = JSON.parse(out.stdout) as { services: { restarted: boolean; restartOutcome: string; reason: string }[] };
  assert.equal(report.services[0]!.restartOutcome, 'failed');
  assert.match(report.services[0]!.reason, /systemd refused to start limited-check\.service: start-limit-hit/);

  const agentFile = `agent: { id: limited }\ndefaults: { interval: 1s, timeout: 1s, retries: 2, retryDelay: 200ms }\ngpu: { enabled: false }\n${service('limited-agent', runs[1]!.port)}`;
  const agent = h.spawnAgent(agentFile);
  const failed = await agent.waitEvent((e) => e.type === 'restart_failed', 15_000, 'restart_failed');
  assert.match(failed.reason, /systemd refused to start limited-agent\.service: start-limit-hit/);
  assert.equal(failed.data?.outcome, 'start_limit_hit');
  await agent.stop();
});
