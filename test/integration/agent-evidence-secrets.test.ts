/**
 * Secrets a model server prints to its journal must not leave the host in restart evidence:
 * a real agent process, a unit of the service-manager stand-in that logs an API key, a
 * Hugging Face token, a database URL with a password, a Bearer header and an operator-defined
 * secret, and a SIGKILL so the agent captures the journal and restarts the unit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, createHarness, agentYaml, freePort, waitFor, type Harness } from '../helpers/agent-harness.js';

let h: Harness;
before(() => {
  h = createHarness();
});
after(async () => {
  await h.cleanup();
});

const SECRETS = {
  apiKey: 'sk-proj-4fQ9xT2mZ7Lk1PqR8sVw3YbN6cHd0JeU',
  hfToken: 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345',
  dbPassword: 'pa55w0rd-db',
  bearer: 'upstream-bearer-0123456789',
  operator: 'acme-deadbeef',
};

test('restart evidence leaves the agent with every secret in the journal tail redacted', async () => {
  const port = await freePort();
  const banner = [
    `vLLM API server args: --model Qwen/Qwen2.5-VL-7B --port ${port} --api-key ${SECRETS.apiKey}`,
    `environment: HF_TOKEN=${SECRETS.hfToken} CUDA_VISIBLE_DEVICES=0`,
    `metrics sink postgres://llm:${SECRETS.dbPassword}@db.internal:5432/metrics`,
    `upstream request headers: Authorization: Bearer ${SECRETS.bearer}`,
    `licence session ${SECRETS.operator}`,
  ];
  const script = `${banner.map((l) => `echo '${l}'`).join('; ')}; exec "$0" "$@"`;
  h.sandbox.writeUnit('leaky-vllm.service', {
    execStart: ['/bin/sh', '-c', script, process.execPath, CLI, 'emulate', '--kind', 'vllm', '--port', String(port)],
    timeoutStopSec: '3s',
  });
  await h.start('leaky-vllm.service');
  await waitFor(() => h.healthy(`http://127.0.0.1:${port}/health`), 10_000, 'leaky-vllm up');

  const services = `  - name: qwen\n    kind: vllm\n    url: http://127.0.0.1:${port}\n    unit: leaky-vllm.service\n`;
  const agent = h.spawnAgent(agentYaml(services, 'restart:\n  redact: ["acme-[0-9a-f]{8}"]\n'));
  await agent.waitEvent((e) => e.type === 'state_changed' && e.service === 'qwen' && e.to === 'healthy', 10_000, 'healthy');
  process.kill(h.sandbox.mainPid('leaky-vllm.service'), 'SIGKILL');
  const started = await agent.waitEvent((e) => e.type === 'restart_started' && e.service === 'qwen', 10_000, 'restart_started');
  await agent.stop();

  const journal = (started.data as { evidence: { journal: string | null } }).evidence.journal;
  assert.ok(journal, 'the journal tail was captured');
  assert.match(journal, /--api-key \[REDACTED\]/);
  assert.match(journal, /HF_TOKEN=\[REDACTED\] CUDA_VISIBLE_DEVICES=0/);
  assert.match(journal, /postgres:\/\/llm:\[REDACTED\]@db\.internal:5432\/metrics/);
  assert.match(journal, /Authorization: Bearer \[REDACTED\]/);
  assert.match(journal, /licence session \[REDACTED\]/);
  // the useful part survives: what the server was and how it died
  assert.match(journal, /--model Qwen\/Qwen2\.5-VL-7B/);
  const everything = agent.lines.join('\n');
  for (const [name, secret] of Object.entries(SECRETS)) assert.ok(!everything.includes(secret), `${name} appears in the agent's output`);
});
