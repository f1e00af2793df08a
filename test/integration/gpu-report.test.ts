/**
 * GPU figures follow the agent's GPU interval on the coordinator, not only the snapshot sent
 * at connect: a real agent process reads a stand-in nvidia-smi whose output the test changes,
 * and GET /api/v1/fleet shows the new reading on the same connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHarness, waitFor } from '../helpers/agent-harness.js';
import { AGENT_TOKEN, startTestCoordinator, wsUrl } from '../coordinator/helpers.js';

const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const FIXTURE = join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'h100x2-problems.csv');

interface FleetGpu {
  at: string;
  gpus: { index: number; utilizationPct: number | null; temperatureC: number | null }[];
}

test('new GPU readings reach the coordinator on the open connection, at the GPU interval', async () => {
  const t = await startTestCoordinator('fleet: { agentLostAfter: 5s, heartbeatInterval: 1s }\n');
  const h = createHarness();
  try {
    const port = await h.startEmulator('gpu-llama.service', 'llamacpp');
    const output = join(h.dir, 'nvidia-smi.csv');
    writeFileSync(output, readFileSync(FIXTURE, 'utf8'));
    const smi = join(h.dir, 'fake-nvidia-smi');
    writeFileSync(smi, `#!/bin/sh\ncat '${output}'\n`, { mode: 0o755 });
    h.spawnAgent(`agent: { id: gpu-r }
coordinator: { url: '${wsUrl(t.coord)}', token: '${AGENT_TOKEN}', spoolDir: '${join(h.dir, 'spool')}', heartbeat: 1s, reconnectMax: 1s }
defaults: { interval: 1s, timeout: 1s }
gpu: { enabled: true, interval: 1s, command: '${smi}' }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: gpu-llama.service }
`);
    const hostGpu = async (): Promise<FleetGpu | null> => {
      const res = await fetch(`${t.coord.url}/api/v1/fleet`);
      const body = (await res.json()) as { hosts: { id: string; gpu: FleetGpu | null }[] };
      return body.hosts.find((x) => x.id === 'gpu-r')?.gpu ?? null;
    };
    const first = await waitFor(async () => {
      const gpu = await hostGpu();
      return gpu?.gpus[0]?.utilizationPct === 100 ? gpu : null;
    }, 15_000, 'the first GPU reading in the fleet view');
    assert.equal(first.gpus.length, 2);

    // the GPU cools down and goes idle: utilization 100 → 3, temperature 89 → 45
    writeFileSync(output, readFileSync(FIXTURE, 'utf8').replace(/^0, (GPU-[^,]+), ([^,]+), 100, (\d+), (\d+), 89,/m, '0, $1, $2, 3, $3, $4, 45,'));
    const later = await waitFor(async () => {
      const gpu = await hostGpu();
      return gpu?.gpus[0]?.utilizationPct === 3 ? gpu : null;
    }, 10_000, 'the new GPU reading in the fleet view');
    assert.equal(later.gpus[0]!.temperatureC, 45);
    assert.ok(Date.parse(later.at) > Date.parse(first.at), 'the reading is dated when it was taken, after the first');
    assert.equal(t.logs().match(/"msg":"agent connected"/g)?.length ?? 0, 1, 'one connection: the new figures came without a reconnect');
  } finally {
    await h.cleanup();
    await t.close();
  }
});
