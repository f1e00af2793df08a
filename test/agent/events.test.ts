import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { EventLog, type AgentEvent } from '../../agent/events.js';
import { createLogger } from '../../shared/logger.js';
import { FakeClock } from '../../shared/clock.js';

type LogRecord = { msg: string; event?: AgentEvent };

/** An EventLog whose logger hands every record it writes to `onRecord`. */
function eventLog(onRecord: (rec: LogRecord) => void): EventLog {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      onRecord(JSON.parse(chunk.toString()) as LogRecord);
      done();
    },
  });
  return new EventLog('host-1', new FakeClock(0), createLogger({ level: 'info', destination }), { bootId: 'boot-1' });
}

test('every event reaches the sinks (the spool) before its log line, numbered 1, 2, 3 in order', () => {
  const order: string[] = [];
  const log = eventLog((rec) => rec.event && order.push(`log ${rec.event.seq}`));
  log.addSink({ accept: (e) => order.push(`sink ${e.seq}`) });
  for (let i = 0; i < 3; i++) log.emit({ type: 'state_changed', service: 's', from: 'healthy', to: 'down', reason: `r${i}` });
  // an agent killed between the two writes must not have logged an event it never spooled
  assert.deepEqual(order, ['sink 1', 'log 1', 'sink 2', 'log 2', 'sink 3', 'log 3']);
  assert.equal(log.lastSeq, 3);
});

test('a sink that throws stops neither the caller, the log line, nor the other sinks', () => {
  const lines: LogRecord[] = [];
  const log = eventLog((rec) => lines.push(rec));
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
