import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, flushMicrotasks } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { EventLog, type AgentEvent } from '../../../agent/events.js';
import { CommandLedger, LEDGER_CAPACITY, LEDGER_FILE } from '../../../agent/commands/ledger.js';
import { CommandRunner, type CommandTarget } from '../../../agent/commands/runner.js';
import type { CommandMessage } from '../../../shared/protocol/messages.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'llmh-cmd-'));
  dirs.push(d);
  return d;
};
const logger = createLogger({ level: 'silent' });
const cmd = (id: string, service: string): CommandMessage => ({ type: 'command', v: 1, id, action: 'restart', service });

function target(name: string, unit?: string): CommandTarget & { restarts: string[] } {
  const t = {
    service: { name, ...(unit ? { unit } : {}) },
    restarts: [] as string[],
    operatorRestart: async (commandId: string) => {
      t.restarts.push(commandId);
      return { kind: 'succeeded' as const, reason: `systemctl restart ${unit} succeeded in 5 ms`, ok: true };
    },
  };
  return t;
}

function runnerOn(dir: string, targets: CommandTarget[]): { runner: CommandRunner; seen: AgentEvent[] } {
  const clock = new FakeClock();
  const events = new EventLog('gpu-a', clock, logger);
  const seen: AgentEvent[] = [];
  events.addSink({ accept: (e) => seen.push(e) });
  return { runner: new CommandRunner({ clock, logger, events, ledger: CommandLedger.open(dir), targets }), seen };
}

const results = (seen: AgentEvent[]): Record<string, unknown>[] => seen.filter((e) => e.type === 'command_result').map((e) => ({ service: e.service, ...(e.data as object) }));

test('a service outside the agent config is refused with a failed command_result, and nothing is restarted', async () => {
  const llama = target('llama', 'llama.service');
  const { runner, seen } = runnerOn(tempDir(), [llama]);
  runner.handle(cmd('c1', 'other'));
  await flushMicrotasks();
  assert.deepEqual(results(seen), [{ service: 'other', id: 'c1', ok: false, outcome: 'refused' }]);
  assert.match(seen.find((e) => e.type === 'command_result')!.reason, /not in this agent's config/);
  assert.deepEqual(seen.map((e) => e.type), ['command_received', 'command_result']);
  assert.deepEqual(llama.restarts, []);
});

test('a configured service without a unit is refused', async () => {
  const { runner, seen } = runnerOn(tempDir(), [target('plain')]);
  runner.handle(cmd('c1', 'plain'));
  await flushMicrotasks();
  assert.equal(results(seen)[0]!.ok, false);
  assert.match(seen.at(-1)!.reason, /has no unit/);
});

test('a command id runs at most once: repeated on the same link, and after an agent restart', async () => {
  const dir = tempDir();
  const llama = target('llama', 'llama.service');
  const first = runnerOn(dir, [llama]);
  first.runner.handle(cmd('c1', 'llama'));
  first.runner.handle(cmd('c1', 'llama'));
  await flushMicrotasks();
  assert.deepEqual(llama.restarts, ['c1']);
  assert.deepEqual(results(first.seen), [{ service: 'llama', id: 'c1', ok: true, outcome: 'succeeded', unit: 'llama.service' }]);

  // a new agent process on the same spool directory remembers the id
  const second = runnerOn(dir, [llama]);
  second.runner.settleUnfinished();
  second.runner.handle(cmd('c1', 'llama'));
  second.runner.handle(cmd('c2', 'llama'));
  await flushMicrotasks();
  assert.deepEqual(llama.restarts, ['c1', 'c2']);
  assert.deepEqual(results(second.seen).map((r) => r.id), ['c2']);
});

test('a command left running by a killed agent is reported as interrupted on start and never run', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, LEDGER_FILE), JSON.stringify([{ id: 'c9', phase: 'running', at: 1, service: 'llama' }]));
  const llama = target('llama', 'llama.service');
  const { runner, seen } = runnerOn(dir, [llama]);
  runner.settleUnfinished();
  runner.handle(cmd('c9', 'llama'));
  await flushMicrotasks();
  assert.deepEqual(results(seen), [{ service: 'llama', id: 'c9', ok: false, outcome: 'interrupted' }]);
  assert.deepEqual(llama.restarts, []);
  // settled once: a second start reports nothing more
  const again = runnerOn(dir, [llama]);
  again.runner.settleUnfinished();
  assert.deepEqual(results(again.seen), []);
});

test('the ledger keeps the most recent ids up to its capacity and survives an unreadable file', () => {
  const dir = tempDir();
  const ledger = CommandLedger.open(dir);
  for (let i = 0; i <= LEDGER_CAPACITY; i++) ledger.record(`id${i}`, 'done', i);
  const reopened = CommandLedger.open(dir);
  assert.equal(reopened.has('id0'), false, 'the oldest id went');
  assert.equal(reopened.has(`id${LEDGER_CAPACITY}`), true);
  writeFileSync(join(dir, LEDGER_FILE), '{torn');
  const errors: string[] = [];
  const broken = CommandLedger.open(dir, (err) => errors.push(err.message));
  assert.equal(broken.has('id5'), false);
  assert.match(errors[0]!, /unreadable/);
});
