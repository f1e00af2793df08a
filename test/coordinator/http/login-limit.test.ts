import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from '../../../coordinator/http/login-limit.js';

const options = { maxFailures: 3, windowMs: 60_000, maxAddresses: 2 };

test('the address waits once it has maxFailures refusals inside the window, until the oldest leaves it', () => {
  let now = 1_000_000;
  const limiter = new LoginLimiter(() => now, options);
  limiter.refused('10.0.0.1');
  now += 10_000;
  limiter.refused('10.0.0.1');
  assert.equal(limiter.waitMs('10.0.0.1'), 0, 'two refusals: may still try');
  now += 10_000;
  limiter.refused('10.0.0.1');
  assert.equal(limiter.waitMs('10.0.0.1'), 40_000, 'the first refusal leaves the window 60 s after it');
  assert.equal(limiter.waitMs('10.0.0.2'), 0, 'another address is not held up');
  now += 40_000;
  assert.equal(limiter.waitMs('10.0.0.1'), 0);
  limiter.refused('10.0.0.1');
  assert.equal(limiter.waitMs('10.0.0.1'), 10_000, 'the refusals at +10 s, +20 s and now: wait until +10 s leaves');
});

test('a successful login forgets the address; refusals outside the window do not count', () => {
  let now = 0;
  const limiter = new LoginLimiter(() => now, options);
  limiter.refused('a');
  limiter.refused('a');
  limiter.succeeded('a');
  limiter.refused('a');
  limiter.refused('a');
  assert.equal(limiter.waitMs('a'), 0);
  now += 61_000;
  limiter.refused('a');
  limiter.refused('a');
  assert.equal(limiter.waitMs('a'), 0, 'the two old refusals have left the window');
});

test('memory stays bounded: at most maxAddresses remembered, the least recently refused forgotten first', () => {
  const limiter = new LoginLimiter(() => 0, options);
  for (const address of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) limiter.refused(address);
  assert.equal(limiter.waitMs('a'), 0, 'a was forgotten when c came');
  assert.ok(limiter.waitMs('b') > 0);
  assert.ok(limiter.waitMs('c') > 0);
  for (let i = 0; i < 100; i++) limiter.refused('c');
  assert.equal(limiter.waitMs('c'), 60_000, 'one address keeps only its last maxFailures refusals');
});
