import { anyBody, httpStep, modelsListCheck, type StatusRule } from './common.js';
import { createHttpClient, snippet } from './http-client.js';
import { chatDeepWithModel } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { ProbeFactory } from './types.js';

/**
 * SGLang. `/health` answers 503 while the server is still starting (weights loading, CUDA
 * graphs capturing), so a 503 there means loading. `/health_generate` runs one tiny
 * generation inside the server; a vision probe needs a real chat completion instead.
 */
const startingIs503: StatusRule = (status, body) =>
  status === 503 ? { outcome: 'loading', detail: `HTTP 503 (starting)${snippet(body) ? `: ${snippet(body)}` : ''}` } : undefined;

export const createSglangProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  return {
    kind: 'sglang',
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/health', ctx, anyBody, { statusRule: startingIs503 }),
    ready: (baseUrl, ctx) => httpStep(http, 'ready', baseUrl, '/v1/models', ctx, modelsListCheck(service.model)),
    deep: (baseUrl, ctx) => (ctx.vision ? chatDeepWithModel(http, baseUrl, ctx, service.model) : httpStep(http, 'deep', baseUrl, '/health_generate', ctx, anyBody)),
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'sglang', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
  };
};
