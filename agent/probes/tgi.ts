import { anyBody, badJson, capabilityRule, httpStep, isRecord, parseJson, type BodyCheck } from './common.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { chatCompletionDeep, type DeepContext } from './openai-compat.js';
import { scrapeMetrics } from './scrape.js';
import type { ProbeAttempt, ProbeFactory } from './types.js';
import { PROBE_PNG_DATA_URI } from './vision-image.js';

/**
 * Hugging Face text-generation-inference. Overload is HTTP 429 "Model is overloaded"
 * (busy, via classifyStatus). `/info` names the loaded model.
 */
function infoCheck(model: string | undefined): BodyCheck {
  return (answer) => {
    const json = parseJson(answer.body);
    if (!json.ok || !isRecord(json.value) || typeof json.value.model_id !== 'string') return badJson(answer, 'expected {"model_id": ...}');
    const id = json.value.model_id;
    if (model === undefined || id === model) return { outcome: 'ok', detail: `model_id ${id}` };
    return { outcome: 'model_missing', detail: `model_id ${id}, expected ${model}` };
  };
}

const generateCheck: BodyCheck = (answer) => {
  const json = parseJson(answer.body);
  const value = json.ok ? json.value : undefined;
  // /generate answers an object; some versions wrap it in a one-element list
  const first = Array.isArray(value) ? value[0] : value;
  if (!isRecord(first) || typeof first.generated_text !== 'string') return badJson(answer, 'expected {"generated_text": ...}');
  return { outcome: 'ok', detail: 'generated' };
};

/**
 * Chat completions first (TGI maps temperature 0 to greedy there); `/generate` when the route
 * is missing (TGI before 1.4) or the model has no chat template (422). `/generate` rejects
 * temperature 0, so greedy is asked for with do_sample false, and an image travels the way
 * TGI's own docs show, as markdown in the prompt.
 */
async function deep(http: HttpClient, baseUrl: string, ctx: DeepContext, model: string | undefined): Promise<ProbeAttempt> {
  const chat = await chatCompletionDeep(http, baseUrl, ctx, model ?? 'tgi');
  if (chat.status !== 404 && chat.status !== 422) return chat;
  const inputs = ctx.vision ? `![](${PROBE_PNG_DATA_URI})${ctx.prompt}` : ctx.prompt;
  return httpStep(http, 'deep', baseUrl, '/generate', ctx, generateCheck, {
    method: 'POST',
    json: { inputs, parameters: { max_new_tokens: 1, do_sample: false } },
    statusRule: capabilityRule(ctx.vision),
  });
}

export const createTgiProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  return {
    kind: 'tgi',
    alive: (baseUrl, ctx) => httpStep(http, 'alive', baseUrl, '/health', ctx, anyBody),
    ready: (baseUrl, ctx) => httpStep(http, 'ready', baseUrl, '/info', ctx, infoCheck(service.model)),
    deep: (baseUrl, ctx) => deep(http, baseUrl, ctx, service.model),
    metrics: (baseUrl, ctx) => scrapeMetrics(http, 'tgi', baseUrl, service.metricsPath, ctx, () => deps.clock.now()),
  };
};
