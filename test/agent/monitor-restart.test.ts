import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceMonitor } from '../../agent/monitor.js';
import { EventLog, type AgentEvent } from '../../agent/events.js';
import type { RoundResult } from '../../agent/probes/types.js';
import type { UnitControl, UnitProperties } from '../../agent/unit-control.js';
import { FakeClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';

const config = parseAgentConfig(
  'monitor-restart.yaml',
  `agent: { id: t }
services:
  - { name: s, kind: http, url: "http://127.0.0.1:1", unit: s.service, interval: 1s, timeout: 1s, retries: 1, retryDelay: 500ms, startupGrace: 2m }
restart: { backoff: 1s }
`,
);
const service = config.services[0]!;
const logger = createLogger({ level: 'silent' });

test('a restart whose systemctl times out while systemd still stops the busy server: exactly one restart, then starting', async () => {
  const clock = new FakeClock();
  let unit: UnitProperties = { activeState: 'active', subState: 'running', nRestarts: 0, mainPid: 10, execMainStatus: 0, result: 'success', startLimitHit: false };
  let restarts = 0;
  const units: UnitControl = {
    resetFailed: async (name: string) => ({ ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, argv: ['systemctl', 'reset-failed', name] }),
    show: async () => unit,
    captureEvidence: async (name) => ({ unit: name, properties: unit, journal: null }),
    async restart(name) {
      restarts++;
      // the stop outlasts the client's deadline: the server lingers while its clients are connected
      unit = { ...unit, activeState: 'deactivating', subState: 'stop-sigterm' };
      return { ok: false, exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', durationMs: 90_014, timedOut: true, argv: ['systemctl', 'restart', name] };
    },
  };
  const events = new EventLog('t', clock, logger);
  const seen: AgentEvent[] = [];
  events.addSink({ accept: (e) => seen.push(e) });
  let phase: 'hung' | 'closed' = 'hung';
  const monitor = new ServiceMonitor(service, {
    clock,
    logger,
    events,
    units,
    restart: config.restart,
    pidAlive: () => true,
    runRound: async (hooks): Promise<RoundResult> => {
      const at = clock.now();
      if (phase === 'hung') return { at, outcome: 'timeout', primaryOk: false, primaryOutcome: 'timeout', attempts: 1, latencyMs: 1000, detail: '/health: no answer within 1000ms', trail: [] };
      const crash = await hooks.crashEvidence();
      return { at, outcome: 'refused', primaryOk: false, primaryOutcome: 'refused', attempts: 1, latencyMs: 1, detail: '/health: connect ECONNREFUSED', crash, trail: [] };
    },
    resetRoundState: () => {},
  });
  monitor.start();
  await clock.advance(0);
  assert.equal(restarts, 1);
  assert.equal(monitor.state.state, 'starting');
  const outcome = seen.find((e) => e.type === 'restart_succeeded');
  assert.ok(outcome, 'the timed-out restart is reconciled as going through');
  assert.equal(outcome.data?.outcome, 'in_progress');
  assert.match(outcome.reason, /still deactivating/);

  // the port is closed while systemd waits out the stop: refused, but no crash and no restart
  phase = 'closed';
  for (let i = 0; i < 20; i++) await clock.advance(1_000);
  assert.equal(restarts, 1, 'no second restart while the unit is deactivating');
  assert.equal(monitor.state.state, 'starting');
  assert.equal(seen.filter((e) => e.type === 'restart_failed').length, 0);
  await monitor.stop();
});
