import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../shared/clock.js';
import { Pacer } from '../../agent/pacer.js';

test('callbacks due at the same grid point share one timer and run together', async () => {
  const clock = new FakeClock(10_000_250);
  const pacer = new Pacer(clock);
  const ran: string[] = [];
  pacer.atNext(1_000, () => ran.push(`a@${clock.now()}`));
  await clock.advance(300);
  pacer.atNext(1_000, () => ran.push(`b@${clock.now()}`));
  pacer.atNext(200, () => ran.push(`c@${clock.now()}`));
  assert.equal(clock.pendingTimers(), 2, 'one timer for the 1 s grid point, one for the 200 ms one');
  await clock.advance(1_000);
  assert.deepEqual(ran, ['c@10000600', 'a@10001000', 'b@10001000']);
});

test('the next grid point is strictly after now', async () => {
  const clock = new FakeClock(5_000);
  const pacer = new Pacer(clock);
  let at = 0;
  pacer.atNext(1_000, () => (at = clock.now()));
  await clock.advance(2_000);
  assert.equal(at, 6_000);
});

test('a cancelled callback does not run, and the last one out clears the timer', async () => {
  const clock = new FakeClock(0);
  const pacer = new Pacer(clock);
  const ran: string[] = [];
  const cancelA = pacer.atNext(1_000, () => ran.push('a'));
  const cancelB = pacer.atNext(1_000, () => ran.push('b'));
  cancelA();
  assert.equal(clock.pendingTimers(), 1);
  cancelB();
  assert.equal(clock.pendingTimers(), 0);
  await clock.advance(5_000);
  assert.deepEqual(ran, []);
});

test('stop cancels everything', async () => {
  const clock = new FakeClock(0);
  const pacer = new Pacer(clock);
  let ran = false;
  pacer.atNext(500, () => (ran = true));
  pacer.stop();
  await clock.advance(1_000);
  assert.equal(ran, false);
});

test('an offset shifts the whole grid', async () => {
  const clock = new FakeClock(10_000);
  const pacer = new Pacer(clock, 370);
  const at: number[] = [];
  pacer.atNext(1_000, () => at.push(clock.now()));
  pacer.atNext(200, () => at.push(clock.now()));
  await clock.advance(2_000);
  assert.deepEqual(at, [10_170, 10_370]);
});
