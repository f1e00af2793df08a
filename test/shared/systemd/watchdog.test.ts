import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, flushMicrotasks } from '../../../shared/clock.js';
import { silentLogger } from '../../../shared/logger.js';
import { sdNotifierFromEnv, watchdogPingMs } from '../../../shared/systemd/notify.js';
import { announceDaemon, startWatchdogPings, type LivenessCheck } from '../../../shared/systemd/watchdog.js';

test('WATCHDOG_USEC/2, only for the process WATCHDOG_PID names (or any when unset)', () => {
  assert.equal(watchdogPingMs({ WATCHDOG_USEC: '30000000' }, 7), 15_000);
  assert.equal(watchdogPingMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '7' }, 7), 1_000);
  assert.equal(watchdogPingMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '8' }, 7), null, 'a child that inherited the variables does not ping');
  for (const bad of [undefined, '', '0', '-5', 'x']) assert.equal(watchdogPingMs({ WATCHDOG_USEC: bad }, 7), null, String(bad));
});

test('without NOTIFY_SOCKET nothing is ever spawned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-notify-'));
  try {
    const log = join(dir, 'calls');
    const fake = join(dir, 'systemd-notify');
    writeFileSync(fake, `#!/bin/sh\necho "$@" >> '${log}'\n`);
    chmodSync(fake, 0o755);
    const off = sdNotifierFromEnv({ env: { WATCHDOG_USEC: '2000000' }, command: fake });
    assert.equal(off.enabled, false);
    assert.equal(off.watchdogPingMs, null);
    assert.equal(await off.notify('READY=1'), false);
    const daemon = await announceDaemon(off, { clock: new FakeClock(), logger: silentLogger(), check: () => null });
    await daemon.stopping();
    assert.throws(() => readFileSync(log), /ENOENT/);
    // with it: argv as given (no shell), one child per message, its status is the answer
    const on = sdNotifierFromEnv({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid) }, command: fake });
    assert.equal(on.watchdogPingMs, 1_000);
    assert.equal(await on.notify('STATUS=a; rm -rf /', 'READY=1'), true);
    assert.equal(readFileSync(log, 'utf8'), 'STATUS=a; rm -rf / READY=1\n');
    assert.equal(await sdNotifierFromEnv({ env: { NOTIFY_SOCKET: '/run/x' }, command: join(dir, 'missing') }).notify('READY=1'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** a notifier that records, and a check the test flips */
async function harness() {
  const sent: string[] = [];
  const clock = new FakeClock();
  let problem: string | null = null;
  let hang = false;
  const check: LivenessCheck = () => (hang ? new Promise<string | null>(() => {}) : problem);
  const stop = startWatchdogPings({ notify: async (...a) => (sent.push(a.join(' ')), true) }, 1_000, { clock, logger: silentLogger(), check });
  // the first ping goes out at once: let it finish before fake time moves
  await flushMicrotasks();
  return { sent, clock, stop, fail: (p: string | null) => (problem = p), hang: (h: boolean) => (hang = h) };
}

test('pings every interval while healthy, none while the check fails, again once it passes', async () => {
  const h = await harness();
  await h.clock.advance(2_500);
  assert.equal(h.sent.length, 3, 'at 0, 1 s and 2 s');
  h.fail('service x: probe cycle running for 400 s (budget 100 s)');
  await h.clock.advance(3_000);
  assert.equal(h.sent.length, 3);
  h.fail(null);
  await h.clock.advance(1_000);
  assert.equal(h.sent.length, 4);
  assert.ok(h.sent.every((s) => s === 'WATCHDOG=1'));
  h.stop();
  await h.clock.advance(5_000);
  assert.equal(h.sent.length, 4, 'stopped: no more pings');
});

test('a check that never answers (a stuck store) stops the pings', async () => {
  const h = await harness();
  await h.clock.advance(500);
  assert.equal(h.sent.length, 1);
  h.hang(true);
  await h.clock.advance(10_000);
  assert.equal(h.sent.length, 1);
  h.stop();
});

test('READY=1 first, STOPPING=1 last, pings in between only while asked for', async () => {
  const sent: string[] = [];
  const clock = new FakeClock();
  const notifier = { enabled: true, watchdogPingMs: 1_000, notify: async (...a: string[]) => (sent.push(a.join(' ')), true) };
  const daemon = await announceDaemon(notifier, { clock, logger: silentLogger(), check: () => null });
  await flushMicrotasks();
  await clock.advance(1_500);
  await daemon.stopping();
  await clock.advance(5_000);
  assert.deepEqual(sent, ['READY=1', 'WATCHDOG=1', 'WATCHDOG=1', 'STOPPING=1']);
});
