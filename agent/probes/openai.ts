import { badJson, httpStep, modelsListCheck, openAiModelIds, type BodyCheck } from './common.js';
import { createHttpClient } from './http-client.js';
import { chatDeepWithModel } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { ProbeFactory } from './types.js';

/**
 * Any OpenAI-compatible server (LM Studio, LocalAI, a proxy in front of an engine). It has no
 * standard health route, so a well-formed `/v1/models` is "alive".
 */
const modelList: BodyCheck = (answer) => (openAiModelIds(answer.body) ? { outcome: 'ok', detail: 'model list answered' } : badJson(answer, 'expected {"data": [...]}'));

export const createOpenAiProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  return {
    kind: 'openai',
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/v1/models', ctx, modelList),
    ready: (baseUrl, ctx) => httpStep(http, 'ready', baseUrl, '/v1/models', ctx, modelsListCheck(service.model)),
    deep: (baseUrl, ctx) => chatDeepWithModel(http, baseUrl, ctx, service.model),
    // whichever engine sits behind it: its own metric names are recognised
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'openai', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
  };
};
