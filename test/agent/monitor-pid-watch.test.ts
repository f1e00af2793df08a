import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOST_CONNECTION_RECHECK_MS, PID_WATCH_MS, ServiceMonitor } from '../../agent/monitor.js';
import { Pacer } from '../../agent/pacer.js';
import { EventLog } from '../../agent/events.js';
import type { RoundResult } from '../../agent/probes/types.js';
import type { UnitControl, UnitProperties } from '../../agent/unit-control.js';
import { FakeClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';

const config = parseAgentConfig(
  'pid-watch.yaml',
  `agent: { id: t }
services:
  - { name: s, kind: http, url: "http://127.0.0.1:1", unit: s.service, interval: 10s, timeout: 1s, retries: 3, retryDelay: 500ms }
`,
);
const service = config.services[0]!;
const logger = createLogger({ level: 'silent' });

/** A monitor of one unit whose main process the test kills (`crash()`); rounds are recorded. */
function watchedMonitor() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
  let pid = 100;
  let crashed = false;
  const props = (): UnitProperties =>
    crashed
      ? { activeState: 'failed', subState: 'failed', nRestarts: 0, mainPid: 0, execMainStatus: 9, result: 'signal', startLimitHit: false }
      : { activeState: 'active', subState: 'running', nRestarts: 0, mainPid: pid, execMainStatus: 0, result: 'success', startLimitHit: false };
  const units: UnitControl = {
    resetFailed: async (name: string) => ({ ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, argv: ['systemctl', 'reset-failed', name] }),
    show: async () => props(),
    captureEvidence: async (unit) => ({ unit, properties: props(), journal: null }),
    async restart(unit) {
      crashed = false;
      pid += 1;
      return { ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 5, timedOut: false, argv: ['systemctl', 'restart', unit] };
    },
  };
  const rounds: number[] = [];
  const monitor = new ServiceMonitor(service, {
    clock,
    logger,
    events: new EventLog('t', clock, logger),
    units,
    restart: config.restart,
    pidAlive: (p) => !crashed && p === pid,
    runRound: async (hooks): Promise<RoundResult> => {
      rounds.push(clock.now());
      if (!crashed) return { at: clock.now(), outcome: 'ok', primaryOk: true, attempts: 1, latencyMs: 2, detail: '/health: ok', trail: [] };
      await hooks.crashEvidence();
      return { at: clock.now(), outcome: 'refused', primaryOk: false, primaryOutcome: 'refused', attempts: 1, latencyMs: 1, detail: '/health: connect ECONNREFUSED', crash: true, trail: [] };
    },
    resetRoundState: () => {},
  });
  return { clock, monitor, rounds, crash: () => (crashed = true) };
}

test('a crash seen by the PID watch: after the restart the next round comes at the starting poll, not the old interval slot', async () => {
  const { clock, monitor, rounds, crash } = watchedMonitor();
  monitor.start();
  await clock.advance(0);
  assert.equal(monitor.state.state, 'healthy');
  await clock.advance(1_000);

  crash();
  monitor.checkPid();
  await clock.advance(0);
  assert.equal(monitor.state.state, 'starting', 'crash confirmed and restarted by the PID-watch round');
  const crashRound = rounds.length;

  // the starting poll is interval / 4 capped at 1 s; the old 10 s slot is still 8 s away
  await clock.advance(1_000);
  assert.ok(rounds.length > crashRound, 'a round ran within the starting poll');
  assert.equal(monitor.state.state, 'healthy');
  await monitor.stop();
});

test('a lost connection whose process still looks alive is looked at again shortly after', async () => {
  const { clock, monitor, rounds, crash } = watchedMonitor();
  monitor.start();
  await clock.advance(1_000);
  assert.equal(monitor.state.state, 'healthy');
  const before = rounds.length;

  // the socket closes while the dying process is still being torn down
  monitor.connectionLost();
  await clock.advance(0);
  assert.equal(rounds.length, before, 'alive at the first look: no round');
  crash();
  await clock.advance(LOST_CONNECTION_RECHECK_MS);
  assert.equal(rounds.length, before + 1, 'the second look found it gone and probed at once');
  assert.equal(monitor.state.state, 'starting', 'crash confirmed and restarted');
  await monitor.stop();
  assert.equal(clock.pendingTimers(), 0, 'stop leaves no recheck behind');
});

test('the PID watch wakes the agent no more often than rounds at a 1 s interval do', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 370));
  const pacer = new Pacer(clock, 123);
  const wakeUps = new Set<number>();
  const every = (period: number) => {
    const tick = () => {
      wakeUps.add(clock.now());
      pacer.atNext(period, tick);
    };
    pacer.atNext(period, tick);
  };
  every(1_000); // the rounds of services probed every second
  every(PID_WATCH_MS);
  await clock.advance(10_000);
  assert.equal(wakeUps.size, 10, `wake-ups in 10 s: ${[...wakeUps].map((t) => t % 10_000).join(', ')}`);
});
