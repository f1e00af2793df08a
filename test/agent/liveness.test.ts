import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cycleBudgetMs, stuckCycle } from '../../agent/liveness.js';
import { ServiceMonitor } from '../../agent/monitor.js';
import { EventLog } from '../../agent/events.js';
import { FakeClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';

const service = { name: 'llama', retries: 3, timeout: 10_000, retryDelay: 2_000, fallbackUrls: ['http://127.0.0.1:8003'], deepProbe: { every: 60_000, timeout: 30_000, vision: false, prompt: 'x' } };

test('a cycle budget covers every URL, attempt and wait, the deep probe and the evidence reads', () => {
  assert.equal(cycleBudgetMs(service), 2 * 3 * 12_000 + 30_000 + 20_000 + 60_000);
  assert.equal(cycleBudgetMs({ ...service, fallbackUrls: [], deepProbe: undefined }), 3 * 12_000 + 80_000);
});

test('stuck only past the budget', () => {
  const at = (ms: number) => [{ service, busyFor: () => ms }];
  assert.equal(stuckCycle(at(0), 0), null);
  assert.equal(stuckCycle(at(cycleBudgetMs(service)), 0), null);
  assert.match(stuckCycle(at(cycleBudgetMs(service) + 1), 0) ?? '', /^service llama: probe cycle running for 182 s \(budget 182 s\)$/);
});

test('a monitor whose round never returns is reported stuck once past its budget; an idle one never', async () => {
  const clock = new FakeClock();
  const config = parseAgentConfig('a.yaml', 'agent: { id: a }\ngpu: { enabled: false }\nservices:\n  - { name: llama, kind: llamacpp, url: "http://127.0.0.1:1", timeout: 1s, retries: 2, retryDelay: 1s }\n');
  const events = new EventLog('a', clock, silentLogger());
  let hang = true;
  const monitor = new ServiceMonitor(config.services[0]!, {
    clock,
    logger: silentLogger(),
    events,
    restart: config.restart,
    // a round that never answers (a hung probe) vs one that answers at once
    runRound: () => (hang ? new Promise(() => {}) : Promise.resolve({ attempts: [], ok: true } as never)),
    resetRoundState: () => {},
  });
  assert.equal(monitor.busyFor(clock.now()), 0, 'idle before the first cycle');
  monitor.start();
  await clock.advance(cycleBudgetMs(config.services[0]!));
  assert.equal(stuckCycle([monitor], clock.now()), null, 'within its budget');
  await clock.advance(1_000);
  assert.match(stuckCycle([monitor], clock.now()) ?? '', /service llama: probe cycle running for/);
  hang = false;
  void monitor.stop();
});
