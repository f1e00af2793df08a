import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceMonitor, type RoundHooks } from '../../agent/monitor.js';
import { EventLog, type AgentEvent } from '../../agent/events.js';
import type { RoundResult } from '../../agent/probes/types.js';
import type { UnitControl, UnitProperties } from '../../agent/unit-control.js';
import { FakeClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';

const config = parseAgentConfig(
  'evidence.yaml',
  `agent: { id: t }
services:
  - { name: s, kind: http, url: "http://127.0.0.1:1", unit: s.service, interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms, startupGrace: 0s }
`,
);
const service = config.services[0]!;
const logger = createLogger({ level: 'silent' });
const running: UnitProperties = { activeState: 'active', subState: 'running', nRestarts: 0, mainPid: process.pid, execMainStatus: 0, result: 'success', startLimitHit: false };

function ok(clock: FakeClock): RoundResult {
  return { at: clock.now(), outcome: 'ok', primaryOk: true, attempts: 1, latencyMs: 3, detail: '/health: ok', trail: [] };
}

function hung(clock: FakeClock, hooks: RoundHooks): RoundResult {
  const attempt = { level: 'alive' as const, outcome: 'timeout' as const, url: service.url, latencyMs: 1000, detail: '/health: no answer within 1000ms' };
  hooks.onAttemptFailed(attempt);
  hooks.onAttemptFailed(attempt);
  return { at: clock.now(), outcome: 'timeout', primaryOk: false, primaryOutcome: 'timeout', attempts: 3, latencyMs: 1000, detail: attempt.detail, trail: [attempt, attempt, attempt] };
}

test('a hang: evidence is read when the first attempt fails, once, and the restart uses it', async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const units: UnitControl = {
    resetFailed: async (name: string) => ({ ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, argv: ['systemctl', 'reset-failed', name] }),
    async show() {
      calls.push('show');
      return running;
    },
    async captureEvidence(unit, known) {
      calls.push(`evidence ${known ? 'known' : 'read'}`);
      return { unit, properties: running, journal: 'last lines before the hang' };
    },
    async restart(unit) {
      calls.push('restart');
      return { ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 5, timedOut: false, argv: ['systemctl', 'restart', unit] };
    },
  };
  const events = new EventLog('t', clock, logger);
  const seen: AgentEvent[] = [];
  events.addSink({ accept: (e) => seen.push(e) });
  let failing = false;
  const monitor = new ServiceMonitor(service, {
    clock,
    logger,
    events,
    units,
    restart: config.restart,
    pidAlive: () => true,
    runRound: async (hooks) => {
      if (!failing) return ok(clock);
      calls.push('round fails');
      return hung(clock, hooks);
    },
    resetRoundState: () => {},
  });
  monitor.start(); // running (a stopping monitor starts no restart); the fake clock never moves
  await monitor.runOnce();
  assert.equal(monitor.state.state, 'healthy');
  calls.length = 0;
  failing = true;
  await monitor.runOnce();
  assert.deepEqual(calls.filter((c) => c !== 'show'), ['round fails', 'evidence read', 'restart']);
  const started = seen.find((e) => e.type === 'restart_started');
  assert.ok(started, 'restart_started emitted');
  assert.equal((started.data as { evidence: { journal: string } }).evidence.journal, 'last lines before the hang');
  await monitor.stop();
});
