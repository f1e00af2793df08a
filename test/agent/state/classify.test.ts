import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRound, type ClassifyContext } from '../../../agent/state/classify.js';
import type { RoundResult } from '../../../agent/probes/types.js';
import { capabilityRule } from '../../../agent/probes/common.js';

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

test('a configuration mismatch is degraded with what to fix, never a failure (a restart cannot fix it)', () => {
  const r = { ...base, outcome: 'mismatch' as const, primaryOk: false, servedBy: undefined, detail: '/v1/chat/completions: deepProbe.vision is set but the server does not accept images' };
  const v = classifyRound(r, ctx);
  assert.equal(v.kind, 'good');
  assert.match((v as { degraded: string }).degraded, /^configuration mismatch: .*deepProbe\.vision/);
});

test('capabilityRule reads each engine\'s refusal of images and of an unknown model', () => {
  const rule = capabilityRule(true);
  const llamacpp = '{"error":{"code":500,"message":"image input is not supported - hint: if this is unexpected, you may need to provide the mmproj","type":"server_error"}}';
  assert.equal(rule(500, llamacpp)?.outcome, 'mismatch');
  assert.match(rule(500, llamacpp)!.detail, /--mmproj/);
  assert.equal(rule(400, '{"object":"error","message":"`Qwen/Qwen2.5-7B` is not a multimodal model","type":"BadRequestError","code":400}')?.outcome, 'mismatch');
  assert.equal(rule(400, '{"error":"Multimodal data provided, but model does not support multimodal requests."}')?.outcome, 'mismatch');
  assert.equal(rule(400, '{"object":"error","message":"Model only supports text input; received unsupported content type \'image_url\'."}')?.outcome, 'mismatch');
  // without images in the request the same words are not ours to explain
  assert.equal(capabilityRule(false)(500, llamacpp), undefined);
  assert.equal(rule(404, '{"object":"error","message":"The model `gpt-x` does not exist.","type":"NotFoundError","code":404}')?.outcome, 'model_missing');
  assert.equal(rule(404, '{"error":"model \'llama3\' not found"}')?.outcome, 'model_missing');
  // busy and loading keep their own meaning; an unrelated 500 stays a failure
  assert.equal(rule(503, 'image input is not supported'), undefined);
  assert.equal(rule(500, '{"error":{"message":"failed to decode the batch"}}'), undefined);
});
