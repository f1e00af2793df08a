import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  CloseCode,
  DEFAULT_MAX_FRAME_BYTES,
  Limits,
  PROTOCOL_VERSION,
  checkAgentMessage,
  checkCoordinatorMessage,
  closeCodeFor,
  encodeMessage,
  parseAgentMessage,
  parseCoordinatorMessage,
  type ParseResult,
} from '../../shared/protocol/index.js';
import { agentSamples, coordinatorSamples, event, events, hello, snapshot, probes, gpu, heartbeat, ack, welcome, command } from '../coordinator/protocol-samples.js';

function failure<T>(r: ParseResult<T>): { code: string; reason: string } {
  assert.equal(r.ok, false, `expected a rejection, got ${JSON.stringify(r)}`);
  return r as { ok: false; code: string; reason: string };
}

const enc = (v: unknown) => JSON.stringify(v);

test('PROTOCOL_VERSION is 1', () => {
  assert.equal(PROTOCOL_VERSION, 1);
});

test('every agent message sample is accepted, as text and as a Buffer', () => {
  for (const msg of agentSamples()) {
    const text = encodeMessage(msg);
    for (const frame of [text, Buffer.from(text)]) {
      const r = parseAgentMessage(frame);
      assert.equal(r.ok, true, `${msg.type}: ${JSON.stringify(r)}`);
      if (r.ok) assert.deepEqual(r.msg, JSON.parse(text));
    }
    assert.equal(checkAgentMessage(JSON.parse(text)), null);
  }
});

test('every coordinator message sample is accepted', () => {
  for (const msg of coordinatorSamples()) {
    const r = parseCoordinatorMessage(encodeMessage(msg));
    assert.equal(r.ok, true, `${msg.type}: ${JSON.stringify(r)}`);
    assert.equal(checkCoordinatorMessage(msg), null);
  }
});

test('fragmented frames (Buffer[]) and ArrayBuffers are accepted', () => {
  const text = encodeMessage(heartbeat());
  const buf = Buffer.from(text);
  assert.equal(parseAgentMessage([buf.subarray(0, 5), buf.subarray(5)]).ok, true);
  assert.equal(parseAgentMessage(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)).ok, true);
});

test('each direction rejects the other direction\'s messages as unknown types', () => {
  assert.equal(failure(parseCoordinatorMessage(enc(hello()))).code, 'unknown_type');
  assert.equal(failure(parseAgentMessage(enc(welcome()))).code, 'unknown_type');
  assert.equal(failure(parseAgentMessage(enc(ack()))).code, 'unknown_type');
  assert.equal(failure(parseAgentMessage(enc(command()))).code, 'unknown_type');
  // heartbeat is the one message both directions share
  assert.equal(parseCoordinatorMessage(enc(heartbeat())).ok, true);
});

test('not_json: garbage text, truncated JSON, invalid UTF-8', () => {
  for (const frame of ['hello', '{"type":"hello",', '', Buffer.from([0xff, 0xfe, 0x7b, 0x7d])]) {
    const f = failure(parseAgentMessage(frame));
    assert.equal(f.code, 'not_json');
    assert.equal(closeCodeFor('not_json'), CloseCode.InvalidFrame);
  }
});

test('invalid: JSON that is not an object, or lacks v / type', () => {
  for (const value of [[], 42, 'str', null, true, { type: 'hello' }, { v: '1', type: 'hello' }, { v: 1.5, type: 'hello' }, { v: 1 }, { v: 1, type: 7 }]) {
    assert.equal(failure(parseAgentMessage(enc(value))).code, 'invalid', JSON.stringify(value));
  }
});

test('unknown_type maps to 4404; unsupported_version to 4409, checked before the type', () => {
  const u = failure(parseAgentMessage(enc({ v: 1, type: 'launch_missiles' })));
  assert.equal(u.code, 'unknown_type');
  assert.match(u.reason, /launch_missiles/);
  assert.equal(closeCodeFor('unknown_type'), 4404);
  assert.equal(failure(parseAgentMessage(enc({ v: 1, type: 'constructor' }))).code, 'unknown_type');
  assert.equal(failure(parseAgentMessage(enc({ v: 1, type: '__proto__' }))).code, 'unknown_type');

  for (const v of [0, 2, 99, -1]) {
    const f = failure(parseAgentMessage(enc({ ...hello(), v })));
    assert.equal(f.code, 'unsupported_version');
    assert.match(f.reason, new RegExp(`version ${v}`));
  }
  assert.equal(failure(parseAgentMessage(enc({ v: 2, type: 'new_in_v2' }))).code, 'unsupported_version');
  assert.equal(closeCodeFor('unsupported_version'), 4409);
});

test('too_large: frames over maxBytes are refused before decoding (4413)', () => {
  const big = enc({ ...hello(), agentVersion: 'x'.repeat(100) });
  assert.equal(failure(parseAgentMessage(big, { maxBytes: 50 })).code, 'too_large');
  assert.equal(failure(parseAgentMessage('x'.repeat(DEFAULT_MAX_FRAME_BYTES + 1))).code, 'too_large');
  assert.equal(closeCodeFor('too_large'), 4413);
  // multi-byte characters count as bytes, not characters
  assert.equal(failure(parseAgentMessage('"' + 'é'.repeat(30) + '"', { maxBytes: 40 })).code, 'too_large');
});

/** Each case: a valid sample made invalid in one way. All must come back `invalid` (4400). */
const schemaCases: [string, unknown][] = [
  ['hello: unknown key', { ...hello(), extra: 1 }],
  ['hello: missing bootId', (({ bootId: _b, ...rest }) => rest)(hello())],
  ['hello: agent id with a space', { ...hello(), agentId: 'gpu a' }],
  ['hello: agent id too long', { ...hello(), agentId: 'a'.repeat(129) }],
  ['hello: label value not a string', { ...hello(), labels: { rack: 1 } }],
  ['hello: too many labels', { ...hello(), labels: Object.fromEntries(Array.from({ length: Limits.maxLabels + 1 }, (_, i) => [`k${i}`, 'v'])) }],
  ['hello: too many services', { ...hello(), services: Array.from({ length: Limits.maxServices + 1 }, (_, i) => ({ name: `s${i}`, kind: 'http', url: 'http://x' })) }],
  ['hello: service kind upper case', { ...hello(), services: [{ name: 's', kind: 'VLLM', url: 'http://x' }] }],
  ['snapshot: unknown state', { ...snapshot(), services: [{ ...snapshot().services[0]!, state: 'exploded' }] }],
  ['snapshot: lastProbe without at', { ...snapshot(), services: [{ ...snapshot().services[0]!, lastProbe: { ok: true, latencyMs: 1 } }] }],
  ['snapshot: negative restart count', { ...snapshot(), services: [{ ...snapshot().services[0]!, restarts: { count: -1, lastAt: null, lastOutcome: null } }] }],
  ['events: empty list', events([])],
  ['events: seq 0', events([event(0)])],
  ['events: seq not an integer', events([{ ...event(1), seq: 1.5 }])],
  ['events: unknown event type', events([{ ...event(1), type: 'exploded' as never }])],
  ['events: time without zone', events([{ ...event(1), at: '2026-01-01T00:00:00' }])],
  ['events: month 13', events([{ ...event(1), at: '2026-13-01T00:00:00Z' }])],
  ['events: reason too long', events([{ ...event(1), reason: 'x'.repeat(Limits.maxReasonLength + 1) }])],
  ['events: event with unknown key', events([{ ...event(1), secret: 'x' } as never])],
  ['events: data nested too deep', events([{ ...event(1), data: { a: { b: { c: { d: 1 } } } } }])],
  ['events: data too many keys', events([{ ...event(1), data: Object.fromEntries(Array.from({ length: Limits.maxDataKeys + 1 }, (_, i) => [`k${i}`, i])) }])],
  ['events: too many events', events(Array.from({ length: Limits.maxEventsPerMessage + 1 }, (_, i) => event(i + 1)))],
  ['probes: latency negative', { ...probes(), results: [{ ...probes().results[0]!, latencyMs: -1 }] }],
  ['probes: summarized.dropped missing', { ...probes(), summarized: {} }],
  ['gpu: index missing', { ...gpu(), gpus: [{ name: 'x' }] }],
  ['gpu: throttle reasons not strings', { ...gpu(), gpus: [{ index: 0, throttleReasons: [1] }] }],
  ['heartbeat: at missing', { type: 'heartbeat', v: 1 }],
];

for (const [name, value] of schemaCases) {
  test(`invalid (4400): ${name}`, () => {
    const f = failure(parseAgentMessage(enc(value)));
    assert.equal(f.code, 'invalid', f.reason);
    assert.equal(closeCodeFor('invalid'), CloseCode.InvalidFrame);
    assert.ok(f.reason.length < 300);
  });
}

test('data may nest up to the documented depth', () => {
  const ok = events([{ ...event(1), data: { a: { b: { c: 'deep enough' } }, journal: Array.from({ length: 50 }, (_, i) => `line ${i}`) } }]);
  assert.equal(parseAgentMessage(enc(ok)).ok, true);
});

test('coordinator messages: invalid shapes are rejected', () => {
  const cases: unknown[] = [
    { ...welcome(), ackedSeq: { bootId: 'b', seq: 0 } },
    { ...welcome(), ackedSeq: { bootId: 'b' } },
    { ...ack(), seq: -1 },
    { ...command(), action: 'format-disk' },
    { ...command(), service: '../etc' },
  ];
  for (const c of cases) assert.equal(failure(parseCoordinatorMessage(enc(c))).code, 'invalid', JSON.stringify(c));
});

test('reasons never echo frame content', () => {
  const secret = 'tok_SUPERSECRET_123';
  const frames = [
    `not json ${secret}`,
    enc({ ...hello(), agentVersion: secret.repeat(20) }),
    enc({ ...hello(), [secret]: 1 }),
    enc({ v: 1, type: secret }),
    enc(events([{ ...event(1), reason: secret + 'x'.repeat(2000) }])),
  ];
  for (const frame of frames) {
    const f = failure(parseAgentMessage(frame));
    // an unknown key or type name is quoted, but clipped to 32 characters
    assert.ok(!f.reason.includes(secret) || f.reason.length < 120, f.reason);
    assert.ok(!f.reason.includes(secret.repeat(2)), f.reason);
  }
  assert.ok(!failure(parseAgentMessage(`{"a": "${secret}"`)).reason.includes(secret));
});

test('every close code is documented in shared/protocol/README.md', () => {
  const readme = readFileSync(new URL('../../../shared/protocol/README.md', import.meta.url), 'utf8');
  for (const [name, code] of Object.entries(CloseCode)) assert.match(readme, new RegExp(`\\b${code}\\b`), `${name} (${code}) missing from README`);
  for (const type of ['hello', 'snapshot', 'events', 'probes', 'gpu', 'heartbeat', 'welcome', 'ack', 'command']) assert.match(readme, new RegExp(`\`${type}\``));
});
