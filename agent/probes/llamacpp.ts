import { badJson, httpStep, isRecord, listForDetail, openAiModelIds, parseJson, visionMismatch, type BodyCheck } from './common.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { chatCompletionDeep, type DeepContext } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { Clock } from '../../shared/clock.js';
import type { ProbeAttempt, ProbeContext, ProbeFactory, WorkInProgress } from './types.js';

/**
 * llama.cpp server (`llama-server`). `/health` is the whole readiness story: it answers 503
 * `{"error":{"message":"Loading model"}}` until the weights are loaded (on every endpoint),
 * and older builds 503 "no slot available" when every slot is taken; both are classified by
 * `classifyStatus`. It needs no model name in a completion.
 *
 * With `model` configured, ready also asks `/v1/models`: llama.cpp lists its `--alias`, or
 * without one the model file path, so the file name (with or without `.gguf`) matches too.
 */
const healthCheck: BodyCheck = (answer) => {
  const json = parseJson(answer.body);
  if (!json.ok || !isRecord(json.value) || typeof json.value.status !== 'string') return badJson(answer, 'expected {"status": "ok"}');
  return json.value.status === 'ok' ? { outcome: 'ok', detail: 'status ok' } : badJson(answer, 'expected {"status": "ok"}');
};

function modelMatches(id: string, model: string): boolean {
  const file = id.split('/').pop() ?? id;
  return id === model || file === model || file.replace(/\.gguf$/i, '') === model;
}

function listedCheck(model: string): BodyCheck {
  return (answer) => {
    const ids = openAiModelIds(answer.body);
    if (!ids) return badJson(answer, 'expected {"data": [{"id": ...}]}');
    return ids.some((id) => modelMatches(id, model))
      ? { outcome: 'ok', detail: `model ${model} loaded` }
      : { outcome: 'model_missing', detail: `model ${model} not loaded (have: ${listForDetail(ids)})` };
  };
}

/**
 * A vision deep probe that failed: `/props` says whether the server has a vision projector
 * at all (`modalities.vision`), so a text-only server is a configuration mismatch whatever
 * its error's wording.
 */
async function visionDeep(http: HttpClient, baseUrl: string, ctx: DeepContext, model: string | undefined): Promise<ProbeAttempt> {
  const attempt = await chatCompletionDeep(http, baseUrl, ctx, model);
  if (!ctx.vision || attempt.outcome !== 'http_error') return attempt;
  let textOnly = false;
  await httpStep(http, 'deep', baseUrl, '/props', { timeoutMs: ctx.timeoutMs, signal: ctx.signal }, (answer) => {
    const json = parseJson(answer.body);
    const modalities = json.ok && isRecord(json.value) && isRecord(json.value.modalities) ? json.value.modalities : undefined;
    textOnly = modalities?.vision === false;
    return { outcome: 'ok', detail: 'props' };
  });
  return textOnly ? { ...attempt, outcome: 'mismatch', detail: `${attempt.detail}; /props: modalities.vision false: ${visionMismatch}` } : attempt;
}

/** How far apart the two `/slots` reads are that tell decoding slots from stuck ones. */
export const SLOTS_RECHECK_MS = 500;

/** Busy slots by id: the task each runs and how many tokens it has decoded so far. */
async function busySlots(http: HttpClient, baseUrl: string, ctx: ProbeContext): Promise<Map<number, { task: unknown; decoded: number }> | undefined> {
  let slots: Map<number, { task: unknown; decoded: number }> | undefined;
  await httpStep(http, 'deep', baseUrl, '/slots', ctx, (answer) => {
    const json = parseJson(answer.body);
    if (!json.ok || !Array.isArray(json.value)) return badJson(answer, 'expected a list of slots');
    slots = new Map();
    for (const slot of json.value) {
      if (!isRecord(slot) || slot.is_processing !== true || typeof slot.id !== 'number') continue;
      // b10472 has next_token as a list (one per sequence), older builds as one object
      const next = Array.isArray(slot.next_token) ? slot.next_token : [slot.next_token];
      const decoded = next.reduce((sum: number, t: unknown) => sum + (isRecord(t) && typeof t.n_decoded === 'number' ? t.n_decoded : 0), 0);
      slots.set(slot.id, { task: slot.id_task, decoded });
    }
    return { outcome: 'ok', detail: 'slots' };
  });
  return slots;
}

/**
 * Without `--metrics`, `/slots` (on by default) still shows the server's work: slots that
 * are processing, and per slot the tokens decoded so far. Two reads a moment apart tell a
 * server decoding long generations from one whose slots stand still.
 */
async function slotsWork(http: HttpClient, clock: Clock, baseUrl: string, ctx: ProbeContext): Promise<WorkInProgress | undefined> {
  const first = await busySlots(http, baseUrl, ctx);
  if (!first?.size) return undefined;
  try {
    await clock.sleep(SLOTS_RECHECK_MS, ctx.signal);
  } catch {
    return undefined;
  }
  const second = await busySlots(http, baseUrl, ctx);
  if (!second) return undefined;
  const progressed = [...second].some(([id, now]) => {
    const then = first.get(id);
    return !then || then.task !== now.task || now.decoded > then.decoded;
  });
  return { running: second.size, progressed };
}

export const createLlamacppProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  const model = service.model;
  return {
    kind: 'llamacpp',
    readyIsAlive: model === undefined,
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/health', ctx, healthCheck),
    ready: (baseUrl, ctx) => (model === undefined ? httpStep(http, 'ready', baseUrl, '/health', ctx, healthCheck) : httpStep(http, 'ready', baseUrl, '/v1/models', ctx, listedCheck(model))),
    deep: (baseUrl, ctx) => visionDeep(http, baseUrl, ctx, service.model),
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'llamacpp', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
    workInProgress: (baseUrl, ctx) => slotsWork(http, deps.clock, baseUrl, ctx),
  };
};
