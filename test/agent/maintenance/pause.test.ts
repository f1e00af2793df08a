import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../shared/clock.js';
import { silentLogger } from '../../../shared/logger.js';
import { MAINTENANCE_FILE, MaintenancePause } from '../../../agent/maintenance/pause.js';

const msg = (until: string | null, comment?: string) => ({ type: 'maintenance' as const, v: 1 as const, until, ...(comment ? { comment } : {}) });

test('the pause lasts until `until` by the agent clock, ends by itself then, and survives an agent restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-pause-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const pause = MaintenancePause.open(dir, clock, silentLogger());
  assert.equal(pause.active(), false);
  pause.apply(msg(new Date(clock.now() + 60_000).toISOString(), 'driver'));
  assert.equal(pause.active(), true);

  // a new agent process (same spool dir) holds the window from disk
  const reopened = MaintenancePause.open(dir, clock, silentLogger());
  assert.equal(reopened.active(), true);

  await clock.advance(60_000);
  assert.equal(pause.active(), false, 'ended at until without the coordinator');
  assert.equal(reopened.active(), false);
  assert.equal(readFileSync(join(dir, MAINTENANCE_FILE), 'utf8'), 'null', 'the ended window is cleared on disk');
  assert.equal(MaintenancePause.open(dir, clock, silentLogger()).active(), false);
  pause.stop();
  reopened.stop();
});

test('until null or in the past ends the pause; an unreadable file holds none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-pause-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const pause = MaintenancePause.open(dir, clock, silentLogger());
  pause.apply(msg(new Date(clock.now() + 60_000).toISOString()));
  pause.apply(msg(null));
  assert.equal(pause.active(), false);
  pause.apply(msg(new Date(clock.now() - 1).toISOString()));
  assert.equal(pause.active(), false);
  assert.equal(clock.pendingTimers(), 0, 'no timer left behind');
  const memoryOnly = MaintenancePause.open(null, clock, silentLogger());
  memoryOnly.apply(msg(new Date(clock.now() + 1000).toISOString()));
  assert.equal(memoryOnly.active(), true);
  memoryOnly.stop();
});
