import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRound, type ClassifyContext } from '../../agent/state/classify.js';
import type { RoundResult } from '../../agent/probes/types.js';

const base: RoundResult = { at: 0, outcome: 'ok', primaryOk: true, servedBy: 'http://127.0.0.1:8001', attempts: 1, latencyMs: 3, detail: '200', trail: [] };
const ctx: ClassifyContext = { inGrace: false, crashEvidence: false, stalledForMs: 0, stallAfter: 60_000 };

test('ok on the primary is good', () => {
  assert.deepEqual(classifyRound(base, ctx), { kind: 'good' });
});

test('ok via a fallback is degraded, naming the fallback', () => {
  const v = classifyRound({ ...base, primaryOk: false, servedBy: 'http://127.0.0.1:8003' }, ctx);
  assert.deepEqual(v, { kind: 'good', degraded: 'served by fallback http://127.0.0.1:8003' });
});

test('refused: crash with evidence, starting inside grace, failure otherwise', () => {
  const r = { ...base, outcome: 'refused' as const, primaryOk: false, servedBy: undefined, detail: 'connect ECONNREFUSED' };
  assert.equal(classifyRound(r, { ...ctx, crashEvidence: true }).kind, 'failed');
  assert.equal((classifyRound(r, { ...ctx, crashEvidence: true }) as { crash: boolean }).crash, true);
  assert.equal(classifyRound(r, { ...ctx, inGrace: true }).kind, 'starting');
  assert.equal(classifyRound(r, ctx).kind, 'failed');
});

test('loading is starting inside grace and failed after it', () => {
  const r = { ...base, outcome: 'loading' as const, primaryOk: false, detail: '503 Loading model' };
  assert.equal(classifyRound(r, { ...ctx, inGrace: true }).kind, 'starting');
  assert.equal(classifyRound(r, ctx).kind, 'failed');
});

test('busy is busy, never failed', () => {
  assert.equal(classifyRound({ ...base, outcome: 'busy', detail: '429' }, ctx).kind, 'busy');
});

test('metrics stall beats a 200 health answer', () => {
  const r = { ...base, metrics: { at: 0, running: 1, waiting: 4, progress: 100 } };
  const v = classifyRound(r, { ...ctx, stalledForMs: 61_000 });
  assert.equal(v.kind, 'failed');
  assert.match((v as { reason: string }).reason, /stalled: 1 running, 4 waiting/);
  assert.equal(classifyRound(r, { ...ctx, stalledForMs: 30_000 }).kind, 'good');
});

test('slow deep probe is degraded', () => {
  const r = { ...base, deep: { level: 'deep' as const, outcome: 'ok' as const, url: base.servedBy!, latencyMs: 9000, detail: 'ok' } };
  assert.match(String((classifyRound(r, { ...ctx, slowAfter: 5000 }) as { degraded?: string }).degraded), /^slow/);
});

test('timeouts after retries are failures that say how many attempts', () => {
  const v = classifyRound({ ...base, outcome: 'timeout', primaryOk: false, attempts: 3, detail: 'timeout after 1s' }, ctx);
  assert.deepEqual(v, { kind: 'failed', crash: false, reason: 'timeout after 1s (3 attempts)' });
});
