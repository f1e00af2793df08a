import { anyBody, httpStep, modelsListCheck } from './common.js';
import { createHttpClient } from './http-client.js';
import { chatDeepWithModel } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { ProbeFactory } from './types.js';

/**
 * vLLM's OpenAI server. It opens its port only once the engine is up, so "refused" is also
 * what a starting vLLM looks like (the state machine decides with the startup grace).
 * `/v1/models` is served from static config without touching the engine: it proves the
 * model name, not that generation works; only the deep probe does.
 */
export const createVllmProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  return {
    kind: 'vllm',
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/health', ctx, anyBody),
    ready: (baseUrl, ctx) => httpStep(http, 'ready', baseUrl, '/v1/models', ctx, modelsListCheck(service.model)),
    deep: (baseUrl, ctx) => chatDeepWithModel(http, baseUrl, ctx, service.model),
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'vllm', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
  };
};
