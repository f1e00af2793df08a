/**
 * A probe target that answers 50 MB or garbage bytes does not hurt the agent: it stays up,
 * its memory stays bounded, the bad targets are reported down and the good one healthy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startEmulator, type Emulator } from '../../demo/emulator/index.js';
import { createHarness, agentYaml, type Harness } from '../helpers/agent-harness.js';

const emulators: Emulator[] = [];
let h: Harness;
after(async () => {
  await h?.cleanup();
  await Promise.all(emulators.map((e) => e.close()));
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

test('50 MB answers and garbage bytes: the agent stays up with bounded memory and reports them down', async () => {
  h = createHarness();
  const huge = await startEmulator({ kind: 'vllm', port: 0, mode: 'huge' });
  const garbage = await startEmulator({ kind: 'llamacpp', port: 0, mode: 'garbage' });
  const good = await startEmulator({ kind: 'ollama', port: 0 });
  emulators.push(huge, garbage, good);
  const agent = h.spawnAgent(
    agentYaml(
      [
        `  - { name: huge, kind: vllm, url: '${huge.url}', startupGrace: 1s }`,
        `  - { name: garbage, kind: llamacpp, url: '${garbage.url}', startupGrace: 1s }`,
        `  - { name: good, kind: ollama, url: '${good.url}' }`,
      ].join('\n'),
    ),
  );
  await agent.waitEvent((e) => e.service === 'good' && e.to === 'healthy', 10_000, 'good healthy');
  const hugeDown = await agent.waitEvent((e) => e.service === 'huge' && e.to === 'down', 15_000, 'huge down');
  assert.match(hugeDown.reason, /body over|bytes/i);
  const garbageDown = await agent.waitEvent((e) => e.service === 'garbage' && e.to === 'down', 15_000, 'garbage down');
  assert.match(garbageDown.reason, /expected \{"status": "ok"\}, got/);
  // keep it under fire for a few more rounds, sampling its memory
  let peak = 0;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 500));
    peak = Math.max(peak, rssMb(agent.child.pid!));
  }
  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  assert.ok(peak < 200, `agent RSS stayed bounded (peak ${peak.toFixed(0)} MB while being sent 50 MB answers)`);
  assert.ok(!agent.events.some((e) => e.service === 'good' && e.to !== 'healthy'), 'the good service was never affected');
  assert.equal(await agent.stop(), 0);
});
