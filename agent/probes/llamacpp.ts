import { badJson, httpStep, isRecord, listForDetail, openAiModelIds, parseJson, type BodyCheck } from './common.js';
import { createHttpClient } from './http-client.js';
import { chatCompletionDeep } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { ProbeFactory } from './types.js';

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

export const createLlamacppProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  const model = service.model;
  return {
    kind: 'llamacpp',
    readyIsAlive: model === undefined,
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/health', ctx, healthCheck),
    ready: (baseUrl, ctx) => (model === undefined ? httpStep(http, 'ready', baseUrl, '/health', ctx, healthCheck) : httpStep(http, 'ready', baseUrl, '/v1/models', ctx, listedCheck(model))),
    deep: (baseUrl, ctx) => chatCompletionDeep(http, baseUrl, ctx, service.model),
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'llamacpp', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
  };
};
