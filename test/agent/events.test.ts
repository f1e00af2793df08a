import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { EventLog, type AgentEvent } from '../../agent/events.js';
import { createLogger } from '../../shared/logger.js';
import { FakeClock } from '../../shared/clock.js';

/** Records, in one list, what the sink accepted and what the logger wrote. */
function recordingLog() {
  const order: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      const rec = JSON.parse(chunk.toString()) as { event?: AgentEvent };
      if (rec.event) order.push(`log ${rec.event.seq}`);
      done();
    },
  });
  const log = new EventLog('host-1', new FakeClock(0), createLogger({ level: 'info', destination }), { bootId: 'boot-1' });
  log.addSink({ accept: (e) => order.push(`sink ${e.seq}`) });
  return { log, order };
}

test('every event reaches the sinks (the spool) before its log line, numbered 1, 2, 3 in order', () => {
  const { log, order } = recordingLog();
  for (let i = 0; i < 3; i++) log.emit({ type: 'state_changed', service: 's', from: 'healthy', to: 'down', reason: `r${i}` });
  // an agent killed between the two writes must not have logged an event it never spooled
  assert.deepEqual(order, ['sink 1', 'log 1', 'sink 2', 'log 2', 'sink 3', 'log 3']);
  assert.equal(log.lastSeq, 3);
});

test('a sink that throws stops neither the caller, the log line, nor the other sinks', () => {
  const lines: { msg: string; event?: AgentEvent }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; event?: AgentEvent });
      done();
    },
  });
  const log = new EventLog('host-1', new FakeClock(0), createLogger({ level: 'info', destination }), { bootId: 'boot-1' });
  const seen: number[] = [];
  log.addSink({
    accept: () => {
      throw new Error('EIO: i/o error, write');
    },
  });
  log.addSink({ accept: (e) => seen.push(e.seq) });
  const event = log.emit({ type: 'agent_started', reason: 'up' });
  assert.equal(event.seq, 1);
  assert.deepEqual(seen, [1]);
  assert.ok(lines.some((l) => l.msg === 'an event sink failed'));
  assert.ok(lines.some((l) => l.event?.seq === 1), 'the event is still logged');
});
