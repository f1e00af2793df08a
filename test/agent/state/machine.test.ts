import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialStatus, step, inGrace } from '../../../agent/state/machine.js';
import type { MachineConfig, MachineInput, ServiceStatus, StepResult, Verdict } from '../../../agent/state/types.js';

const cfg: MachineConfig = { startupGrace: 60_000, recoverAfter: 2, canRestart: true, maxRestarts: 3, window: 30 * 60_000, backoff: 30_000 };
const T0 = 1_000_000;
const good: Verdict = { kind: 'good' };
const hang: Verdict = { kind: 'failed', crash: false, reason: 'timeout (3 attempts)' };
const crash: Verdict = { kind: 'failed', crash: true, reason: 'crashed' };
const loading: Verdict = { kind: 'starting', reason: 'loading: 503 Loading model' };

/** Drives the machine through inputs at given times, returning every step's result. */
function run(start: ServiceStatus, inputs: [number, MachineInput][], c = cfg): { last: ServiceStatus; steps: StepResult[] } {
  let s = start;
  const steps: StepResult[] = [];
  for (const [at, input] of inputs) {
    const r = step(s, input, at, c);
    steps.push(r);
    s = r.status;
  }
  return { last: s, steps };
}
const round = (verdict: Verdict): MachineInput => ({ type: 'round', verdict });

test('unknown -> healthy on the first good round at agent start, no restart (adoption)', () => {
  const r = step(initialStatus(T0, cfg), round(good), T0 + 10, cfg);
  assert.equal(r.status.state, 'healthy');
  assert.deepEqual(r.transitions, [{ from: 'unknown', to: 'healthy', reason: 'ready' }]);
  assert.equal(r.actions.length, 0);
  assert.equal(r.status.graceUntil, null, 'first healthy probe ends the grace');
});

test('loading inside the grace is starting, never a restart', () => {
  const r = step(initialStatus(T0, cfg), round(loading), T0 + 10, cfg);
  assert.equal(r.status.state, 'starting');
  assert.equal(r.actions.length, 0);
  assert.ok(inGrace(r.status, T0 + 10));
});

test('healthy -> unhealthy on a failed attempt, back to healthy if the round passes', () => {
  const { last, steps } = run(initialStatus(T0, cfg), [
    [T0, round(good)],
    [T0 + 1000, { type: 'attempt_failed', reason: 'timeout' }],
    [T0 + 2000, round(good)],
  ]);
  assert.equal(steps[1]!.status.state, 'unhealthy');
  assert.equal(last.state, 'healthy');
  assert.equal(steps.flatMap((s) => s.actions).length, 0);
});

test('a failed round (retries exhausted) is down and restarts at once', () => {
  const { last, steps } = run(initialStatus(T0, cfg), [
    [T0, round(good)],
    [T0 + 1000, round(hang)],
  ]);
  assert.equal(last.state, 'restarting');
  assert.deepEqual(steps[1]!.transitions.map((t) => t.to), ['down', 'restarting']);
  assert.deepEqual(steps[1]!.actions, [{ type: 'restart', reason: 'timeout (3 attempts)', attempt: 1 }]);
  assert.equal(last.restartCount, 1);
});

test('restart succeeded -> starting with a fresh grace -> healthy at the first ready round', () => {
  const { last, steps } = run(initialStatus(T0, cfg), [
    [T0, round(good)],
    [T0 + 1000, round(crash)],
    [T0 + 1100, { type: 'restart_finished', ok: true, reason: 'restarted' }],
    [T0 + 1200, round(loading)],
    [T0 + 5000, round(good)],
  ]);
  assert.equal(steps[2]!.status.state, 'starting');
  assert.equal(steps[2]!.status.graceUntil, T0 + 1100 + cfg.startupGrace);
  assert.equal(steps[3]!.status.state, 'starting');
  assert.equal(last.state, 'healthy');
  assert.equal(last.lastRestartOutcome, 'succeeded');
});

test('still loading after the grace is a failure and gets restarted', () => {
  const s0 = initialStatus(T0, cfg);
  const late: Verdict = { kind: 'failed', crash: false, reason: 'still loading after the startup grace' };
  const { steps } = run(s0, [
    [T0 + 10, round(loading)],
    [T0 + cfg.startupGrace + 1, round(late)],
  ]);
  assert.equal(steps[1]!.actions.length, 1);
});

test('busy is degraded, never a restart, and recovers to healthy', () => {
  const busy: Verdict = { kind: 'busy', reason: 'busy: 429 Model is overloaded' };
  const { last, steps } = run(initialStatus(T0, cfg), [
    [T0, round(good)],
    [T0 + 1000, round(busy)],
    [T0 + 2000, round(busy)],
    [T0 + 3000, round(good)],
  ]);
  assert.equal(steps[1]!.status.state, 'degraded');
  assert.equal(steps[1]!.status.reason, 'busy: 429 Model is overloaded');
  assert.equal(last.state, 'healthy');
  assert.equal(steps.flatMap((s) => s.actions).length, 0);
});

test('degraded verdicts (fallback, slow, model missing) are degraded without restart', () => {
  const r = step(initialStatus(T0, cfg), round({ kind: 'good', degraded: 'served by fallback http://127.0.0.1:8003' }), T0, cfg);
  assert.equal(r.status.state, 'degraded');
  assert.equal(r.actions.length, 0);
});

test('without a unit a failed service stays down and needs recoverAfter good rounds', () => {
  const noUnit = { ...cfg, canRestart: false };
  const { last, steps } = run(initialStatus(T0, noUnit), [
    [T0, round(good)],
    [T0 + 1000, round(hang)],
    [T0 + 2000, round(good)],
    [T0 + 3000, round(good)],
  ], noUnit);
  assert.equal(steps[1]!.status.state, 'down');
  assert.equal(steps[1]!.actions.length, 0);
  assert.equal(steps[2]!.status.state, 'down', 'one good round is not enough (recoverAfter 2)');
  assert.match(steps[2]!.status.reason, /recovering: 1\/2/);
  assert.equal(last.state, 'healthy');
});

test('flap protection: first restart immediate, then doubling backoff, then gave_up', () => {
  let s = initialStatus(T0, cfg);
  let t = T0;
  const restarts: number[] = [];
  const drive = (input: MachineInput) => {
    const r = step(s, input, t, cfg);
    s = r.status;
    if (r.actions.length) restarts.push(t);
    return r;
  };
  drive(round(good));
  for (let i = 0; i < 8 && s.state !== 'gave_up'; i++) {
    t += 1000;
    drive(round(crash));
    // wait out any backoff with ticks, one second at a time (bounded)
    for (let k = 0; k < 400 && s.state === 'down'; k++) {
      t += 1000;
      drive({ type: 'tick' });
    }
    if (s.state === 'restarting') {
      t += 100;
      drive({ type: 'restart_finished', ok: true, reason: 'restarted' });
    }
  }
  assert.equal(s.state, 'gave_up');
  assert.equal(restarts.length, 3, 'at most maxRestarts automatic restarts in the window');
  assert.ok(restarts[1]! - restarts[0]! >= 30_000, 'second restart waits backoff');
  assert.ok(restarts[2]! - restarts[1]! >= 60_000, 'third restart waits doubled backoff');
  assert.ok(restarts[2]! - restarts[1]! < 62_000);
});

test('gave_up emits a notice, ignores failures, and clears on recovery by itself', () => {
  const one = { ...cfg, maxRestarts: 1 };
  const { steps, last } = run(initialStatus(T0, one), [
    [T0, round(good)],
    [T0 + 1000, round(crash)],
    [T0 + 1100, { type: 'restart_finished', ok: true, reason: 'restarted' }],
    [T0 + 2000, round(crash)],
    [T0 + 3000, round(crash)],
    [T0 + 4000, { type: 'tick' }],
    [T0 + 5000, round(good)],
  ], one);
  assert.equal(steps[3]!.status.state, 'gave_up');
  assert.equal(steps[3]!.notices[0]!.type, 'gave_up');
  assert.equal(steps[4]!.actions.length, 0);
  assert.equal(steps[5]!.actions.length, 0);
  assert.equal(last.state, 'healthy');
  assert.deepEqual(last.recentRestarts, []);
});

test('restart failure is down, and the next restart waits the backoff', () => {
  const { steps } = run(initialStatus(T0, cfg), [
    [T0, round(crash)],
    [T0 + 100, { type: 'restart_finished', ok: false, reason: 'restart failed: exit 5 Unit not found' }],
    [T0 + 1000, { type: 'tick' }],
    [T0 + 100 + 30_000, { type: 'tick' }],
  ]);
  assert.equal(steps[1]!.status.state, 'down');
  assert.equal(steps[1]!.status.lastRestartOutcome, 'failed');
  assert.equal(steps[2]!.actions.length, 0);
  assert.equal(steps[3]!.actions.length, 1);
});

test('restarts older than the window no longer count', () => {
  const c = { ...cfg, maxRestarts: 1, window: 10_000 };
  const { steps } = run(initialStatus(T0, c), [
    [T0, round(crash)],
    [T0 + 100, { type: 'restart_finished', ok: true, reason: 'ok' }],
    [T0 + 500, round(good)],
    [T0 + 20_000, round(crash)],
  ], c);
  assert.equal(steps[3]!.actions.length, 1);
});

test('a round during restarting is ignored', () => {
  const { steps } = run(initialStatus(T0, cfg), [
    [T0, round(crash)],
    [T0 + 50, round(crash)],
  ]);
  assert.equal(steps[1]!.status.state, 'restarting');
  assert.equal(steps[1]!.actions.length, 0);
});

test('an outside restart starts a grace and lifts gave_up', () => {
  const one = { ...cfg, maxRestarts: 0 };
  const { steps } = run(initialStatus(T0, one), [
    [T0, round(crash)],
    [T0 + 1000, { type: 'restarted_externally', reason: 'MainPID 10 -> 20' }],
    [T0 + 1100, round(loading)],
  ], one);
  assert.equal(steps[0]!.status.state, 'gave_up');
  assert.equal(steps[1]!.status.state, 'starting');
  assert.equal(steps[2]!.status.state, 'starting');
});

test('a crash inside the grace is still a crash', () => {
  const r = step(initialStatus(T0, cfg), round(crash), T0 + 10, cfg);
  assert.equal(r.actions.length, 1);
});

test('an operator restart out of gave_up: restarting, flap window cleared, and automatic restarts resume', () => {
  const one = { ...cfg, maxRestarts: 1 };
  const { last: gaveUp } = run(initialStatus(T0, one), [
    [T0, round(good)],
    [T0 + 1000, round(crash)],
    [T0 + 1100, { type: 'restart_finished', ok: true, reason: 'restarted' }],
    [T0 + 2000, round(crash)],
  ], one);
  assert.equal(gaveUp.state, 'gave_up');
  const op = step(gaveUp, { type: 'operator_restart', reason: 'restart requested by the coordinator' }, T0 + 3000, one);
  assert.equal(op.status.state, 'restarting');
  assert.deepEqual(op.status.recentRestarts, [], 'an operator restart clears the flap window and does not count in it');
  assert.equal(op.actions.length, 0, 'the caller runs the operator restart itself');
  assert.equal(op.status.restartCount, gaveUp.restartCount + 1);
  const { last, steps } = run(op.status, [
    [T0 + 3100, { type: 'restart_finished', ok: true, reason: 'restarted' }],
    [T0 + 4000, round(good)],
    [T0 + 5000, round(crash)],
  ], one);
  assert.equal(steps[1]!.status.state, 'healthy');
  assert.equal(last.state, 'restarting', 'the next crash is restarted automatically again');
  assert.equal(steps[2]!.actions.length, 1);
});
