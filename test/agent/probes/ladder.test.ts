import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLadder, type LadderAttempt } from '../../../agent/probes/ladder.js';
import { FakeClock, flushMicrotasks } from '../../../shared/clock.js';

/** Runs the ladder while moving the fake clock in 50 ms steps. */
async function drive<R>(clock: FakeClock, run: Promise<R>): Promise<R> {
  let done = false;
  void run.finally(() => (done = true));
  for (let i = 0; i < 1_000 && !done; i++) {
    await flushMicrotasks();
    if (!done) await clock.advance(50);
  }
  return run;
}

const wait = (clock: FakeClock, ms: number, signal: AbortSignal) => clock.sleep(ms, signal).then(() => true, () => false);

test('a hung first step: retries independent attempts, hedged retryDelay apart', async () => {
  const clock = new FakeClock();
  const launched: number[] = [];
  const r = await drive(
    clock,
    runLadder({
      clock,
      retries: 3,
      retryDelay: 500,
      attempt: async (a: LadderAttempt) => {
        launched.push(clock.now());
        await wait(clock, 1_000, a.signal);
        return 'timeout';
      },
      judge: () => 'failed',
    }),
  );
  assert.equal(r.result, 'timeout');
  assert.equal(r.attempts, 3);
  const t0 = launched[0]!;
  assert.deepEqual(launched.slice(0, 3).map((t) => t - t0), [0, 500, 1000]);
});

test('an attempt that claims the ladder cancels its siblings; a hedge armed before the claim launches nothing', async () => {
  const clock = new FakeClock();
  let launches = 0;
  let claims = 0;
  const retried: string[] = [];
  const r = await drive(
    clock,
    runLadder({
      clock,
      retries: 3,
      retryDelay: 500,
      attempt: async (a) => {
        launches++;
        // a quick first step, then the work that must not be sent twice, which fails slowly
        await wait(clock, 100, a.signal);
        if (!a.claim()) return 'superseded';
        claims++;
        await wait(clock, 1_000, a.signal);
        return 'deep timeout';
      },
      judge: (x) => (x === 'deep timeout' ? 'failed' : 'ok'),
      onRetry: (x) => retried.push(x),
    }),
  );
  assert.equal(r.result, 'deep timeout', 'never the answer of a cancelled or late sibling');
  assert.equal(r.attempts, 3);
  assert.equal(claims, 3);
  assert.equal(launches, 3, 'no hedge went out while an attempt held the claim');
  assert.deepEqual(retried, ['deep timeout', 'deep timeout']);
});

test('final answers end the ladder; stopAfter ends it on other evidence', async () => {
  const clock = new FakeClock();
  let n = 0;
  const final = await drive(clock, runLadder({ clock, retries: 3, retryDelay: 500, attempt: async () => (n++, 'busy'), judge: () => 'final' }));
  assert.equal(final.result, 'busy');
  assert.equal(n, 1);
  let asked = 0;
  const crash = await drive(
    clock,
    runLadder({ clock, retries: 3, retryDelay: 500, attempt: async () => 'refused', judge: () => 'failed', stopAfter: async () => (asked++, true) }),
  );
  assert.equal(crash.failures, 1);
  assert.equal(asked, 1);
});
