import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { collectGarbageNow } from '../../cli/run.js';

test('collectGarbageNow collects an unreachable object at once and exposes no gc global', async () => {
  let target: object | null = { payload: new Array(1000).fill('x') };
  const ref = new WeakRef(target);
  target = null;
  // a WeakRef keeps its target alive until the current job ends
  await turn();
  await collectGarbageNow();
  assert.equal(ref.deref(), undefined, 'the object was collected');
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'gc is not on the global object');
  // and it keeps working when called again
  let second: object | null = {};
  const ref2 = new WeakRef(second);
  second = null;
  await turn();
  await collectGarbageNow();
  assert.equal(ref2.deref(), undefined);
});
