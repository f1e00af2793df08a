import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { eventProblem, fitEvent } from '../../shared/protocol/fit.js';
import { checkAgentMessage } from '../../shared/protocol/parse.js';
import { PROTOCOL_AJV_OPTIONS } from '../../shared/protocol/ajv-options.js';
import { describeAjvError } from '../../shared/protocol/describe-error.js';
import { agentMessageSchemas } from '../../shared/protocol/schemas.js';
import { Limits, PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { AgentMessage, Event } from '../../shared/protocol/messages.js';

const base: Event = { agentId: 'gpu-01', bootId: 'b00t', seq: 1, at: '2026-11-28T10:00:00.000Z', type: 'state_changed', service: 'llama', from: 'healthy', to: 'down', reason: 'connect ECONNREFUSED', data: { attempts: 3 } };
function nested(depth: number): unknown {
  return depth === 0 ? 'leaf' : { a: nested(depth - 1) };
}
const samples: [string, unknown][] = [
  ['valid', base],
  ['no data', { ...base, data: undefined }],
  ['unicode reason at the limit (astral characters count once)', { ...base, reason: '😀'.repeat(Limits.maxReasonLength) }],
  ['reason one over the limit', { ...base, reason: 'x'.repeat(Limits.maxReasonLength + 1) }],
  ['unknown event type', { ...base, type: 'exploded' }],
  ['unknown key', { ...base, extra: 1 }],
  ['bad state', { ...base, to: 'sleepy' }],
  ['seq zero', { ...base, seq: 0 }],
  ['seq not an integer', { ...base, seq: 1.5 }],
  ['bad time', { ...base, at: 'yesterday' }],
  ['agent id with a space', { ...base, agentId: 'gpu 01' }],
  ['missing reason', { ...base, reason: undefined }],
  ['data too deep', { ...base, data: { x: nested(Limits.maxDataDepth + 2) } }],
  ['data string too long', { ...base, data: { log: 'y'.repeat(Limits.maxDataStringLength + 1) } }],
  ['data with too many keys', { ...base, data: Object.fromEntries(Array.from({ length: Limits.maxDataKeys + 1 }, (_, i) => [`k${i}`, i])) }],
  ['data list too long', { ...base, data: { list: Array.from({ length: Limits.maxDataItems + 1 }, (_, i) => i) } }],
  ['not an object', 'event'],
];

test('eventProblem agrees with a fresh compile of the events schema on valid and invalid events', () => {
  const compiled = new Ajv(PROTOCOL_AJV_OPTIONS).compile(agentMessageSchemas.events);
  for (const [label, raw] of samples) {
    const event = JSON.parse(JSON.stringify(raw)) as unknown;
    const message = { type: 'events', v: PROTOCOL_VERSION, events: [event] };
    const runtime = compiled(message) ? null : describeAjvError(compiled.errors?.[0]);
    const ahead = eventProblem(event);
    assert.equal(ahead === null, runtime === null, `${label}: eventProblem says ${ahead}, a fresh compile says ${runtime}`);
    if (ahead !== null) assert.equal(ahead, runtime, label);
    // the coordinator's frame check uses the same validator
    const checked = checkAgentMessage(message as unknown as AgentMessage);
    assert.equal(checked, ahead === null ? null : `events: ${ahead}`, label);
  }
  assert.equal(eventProblem(base), null);
  assert.match(eventProblem({ ...base, seq: 0 })!, /\/events\/0\/seq must be >= 1/);
});

test('fitEvent trims what the coordinator would refuse and keeps the event', () => {
  const long = fitEvent({ ...base, reason: 'r'.repeat(5000), data: { log: 'z'.repeat(Limits.maxDataStringLength + 10) } });
  assert.equal(long.reason.length, Limits.maxReasonLength);
  assert.match(String((long.data as unknown as { trimmed: string }).trimmed), /data exceeded protocol limits/);
  assert.equal(eventProblem(long), null);
  assert.deepEqual(fitEvent(base), base);
});
