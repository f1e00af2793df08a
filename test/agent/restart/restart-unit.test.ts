import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartUnit, restartWentThrough } from '../../../agent/restart/restart-unit.js';
import { parseShowOutput, parseTimeSpan, restartDeadline, RESTART_MARGIN_MS } from '../../../agent/restart/systemctl.js';
import type { UnitCommandOutcome, UnitControl, UnitProperties } from '../../../agent/unit-control.js';
import { ErrorCode, LlmHealthError } from '../../../shared/errors.js';

const UNIT = 'llama.service';

function props(activeState: string, extra: Partial<UnitProperties> = {}): UnitProperties {
  return { activeState, subState: activeState === 'active' ? 'running' : activeState, nRestarts: 0, mainPid: activeState === 'active' ? 42 : 0, execMainStatus: 0, result: 'success', startLimitHit: false, ...extra };
}

function command(extra: Partial<UnitCommandOutcome> = {}): UnitCommandOutcome {
  return { ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 120, timedOut: false, argv: ['systemctl', 'restart', UNIT], ...extra };
}

/** A unit control whose `show` answers the given states in turn and counts restarts (and reset-faileds). */
function units(shows: UnitProperties[], restart: () => Promise<UnitCommandOutcome>): UnitControl & { restarts: number; resets: number } {
  const control = {
    restarts: 0,
    resets: 0,
    resetFailed: async (unit: string) => {
      control.resets++;
      return { ok: true, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, argv: ['systemctl', 'reset-failed', unit] };
    },
    show: async () => shows.shift() ?? null,
    captureEvidence: async () => ({}),
    restart: async () => {
      control.restarts++;
      return restart();
    },
  };
  return control;
}

test('a restart that returned: succeeded, with the properties read after it', async () => {
  const u = units([props('active')], async () => command());
  const out = await restartUnit(u, UNIT, props('failed'));
  assert.equal(out.kind, 'succeeded');
  assert.equal(out.properties?.mainPid, 42);
  assert.match(out.reason, /succeeded in 120 ms/);
  assert.equal(u.restarts, 1);
});

test('a timed-out restart is reconciled from systemctl show: active is a success, never a failure', async () => {
  const u = units([props('active')], async () => command({ ok: false, exitCode: null, signal: 'SIGTERM', timedOut: true, durationMs: 90_014 }));
  const out = await restartUnit(u, UNIT, props('failed'));
  assert.equal(out.kind, 'succeeded');
  assert.match(out.reason, /did not return within 90014 ms, but the unit is active again/);
  assert.ok(restartWentThrough(out));
});

test('a timed-out restart while systemd still stops the unit: in progress, and it went through (no second restart)', async () => {
  const u = units([props('deactivating', { subState: 'stop-sigterm', mainPid: 7 })], async () => command({ ok: false, exitCode: null, timedOut: true, durationMs: 90_000 }));
  const out = await restartUnit(u, UNIT, props('active'));
  assert.equal(out.kind, 'in_progress');
  assert.match(out.reason, /still deactivating it/);
  assert.ok(restartWentThrough(out));
});

test('systemd already runs a job on the unit: no restart is issued at all', async () => {
  for (const state of ['activating', 'deactivating']) {
    const u = units([], async () => command());
    const out = await restartUnit(u, UNIT, props(state));
    assert.equal(out.kind, 'in_progress');
    assert.equal(u.restarts, 0, `${state}: systemctl restart not run`);
  }
});

test('without evidence the unit is read first', async () => {
  const u = units([props('deactivating'), props('active')], async () => command());
  assert.equal((await restartUnit(u, UNIT)).kind, 'in_progress');
  assert.equal(u.restarts, 0);
});

test('start-limit-hit, a failing systemctl, a timed-out restart of a failed unit, a refused unit', async () => {
  const limited = await restartUnit(units([props('failed', { result: 'start-limit-hit', startLimitHit: true })], async () => command({ ok: false, exitCode: 1, stderr: 'Job failed' })), UNIT, props('failed'));
  assert.equal(limited.kind, 'start_limit_hit');
  assert.match(limited.reason, /start-limit-hit/);

  const failing = await restartUnit(units([props('failed')], async () => command({ ok: false, exitCode: 1, stderr: 'Job for llama.service failed.\n' })), UNIT, props('failed'));
  assert.equal(failing.kind, 'failed');
  assert.match(failing.reason, /failed \(exit 1\): Job for llama.service failed\.$/);

  const stuck = await restartUnit(units([props('failed')], async () => command({ ok: false, exitCode: null, timedOut: true, durationMs: 5000 })), UNIT, props('failed'));
  assert.equal(stuck.kind, 'failed');
  assert.match(stuck.reason, /timed out after 5000 ms \(unit failed\/failed\)/);
  assert.equal(restartWentThrough(stuck), false);

  const refused = await restartUnit(
    units([], async () => {
      throw new LlmHealthError(ErrorCode.UnitNotAllowed, 'refusing unit "x.service": not one of this agent\'s configured units');
    }),
    UNIT,
    props('failed'),
  );
  assert.equal(refused.kind, 'refused');
  assert.match(refused.reason, /not possible: refusing unit/);
});

test('systemd time spans as systemctl show prints them', () => {
  assert.equal(parseTimeSpan('1min 30s'), 90_000);
  assert.equal(parseTimeSpan('90s'), 90_000);
  assert.equal(parseTimeSpan('500ms'), 500);
  assert.equal(parseTimeSpan('1h 2min 3s 4ms'), 3_723_004);
  assert.equal(parseTimeSpan('0'), 0);
  assert.equal(parseTimeSpan('infinity'), Number.POSITIVE_INFINITY);
  assert.equal(parseTimeSpan('soon'), undefined);
  assert.equal(parseTimeSpan(undefined), undefined);
  const p = parseShowOutput('ActiveState=active\nTimeoutStartUSec=1min 30s\nTimeoutStopUSec=2min\n');
  assert.equal(p?.timeoutStartMs, 90_000);
  assert.equal(p?.timeoutStopMs, 120_000);
});

test('the restart deadline follows the unit: stop + start + margin, the configured timeout a floor', () => {
  // systemd's defaults: 90 s each; the old fixed 90 s deadline cut a busy server's stop off
  assert.equal(restartDeadline(90_000, { timeoutStopMs: 90_000, timeoutStartMs: 90_000 }), 180_000 + RESTART_MARGIN_MS);
  assert.equal(restartDeadline(600_000, { timeoutStopMs: 5_000, timeoutStartMs: 5_000 }), 600_000);
  assert.equal(restartDeadline(90_000, { timeoutStopMs: Number.POSITIVE_INFINITY, timeoutStartMs: 90_000 }), 90_000);
  assert.equal(restartDeadline(90_000, null), 90_000);
});

test('after a crash loop the start limit refuses the restart while Result still says exit-code: start_limit_hit', async () => {
  // systemd 252 keeps a unit's first failure in Result until reset-failed, so only the
  // unchanged invocation shows that the refused start never ran
  const crashed = props('failed', { result: 'exit-code', execMainStatus: 1, nRestarts: 2, invocationId: 'a1' });
  const refused = command({ ok: false, exitCode: 1, stderr: 'Job for llama.service failed because the control process exited with error code.\n' });
  const out = await restartUnit(units([{ ...crashed }], async () => refused), UNIT, crashed);
  assert.equal(out.kind, 'start_limit_hit');
  assert.match(out.reason, /start limit hit \(no new run; Result keeps the earlier 'exit-code'\)/);
  // a start that ran and failed has a new invocation: a plain failure
  const ranAndFailed = await restartUnit(units([{ ...crashed, invocationId: 'b2' }], async () => refused), UNIT, crashed);
  assert.equal(ranAndFailed.kind, 'failed');
  // a failed dependency starts nothing either, and systemctl says so: not the start limit
  const dep = await restartUnit(units([{ ...crashed }], async () => command({ ok: false, exitCode: 1, stderr: 'A dependency job for llama.service failed.\n' })), UNIT, crashed);
  assert.equal(dep.kind, 'failed');
});

test('an operator restart resets the failed state first, then reads the unit again: a start-limit-hit unit restarts', async () => {
  // before the reset systemd reports start-limit-hit; after it, the unit is inactive and restartable
  const u = units([props('failed', { result: 'success' }), props('active')], async () => command());
  const out = await restartUnit(u, UNIT, props('failed', { result: 'start-limit-hit', startLimitHit: true }), { resetFailed: true });
  assert.equal(u.resets, 1);
  assert.equal(u.restarts, 1);
  assert.equal(out.kind, 'succeeded');
});

test('an operator restart of a unit the control refuses is refused before any restart', async () => {
  const u = units([props('active')], async () => command());
  u.resetFailed = async () => {
    throw new Error('refusing unit "x.service": not one of this agent\'s configured units');
  };
  const out = await restartUnit(u, UNIT, undefined, { resetFailed: true });
  assert.equal(out.kind, 'refused');
  assert.equal(u.restarts, 0);
});
