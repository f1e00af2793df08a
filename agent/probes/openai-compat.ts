import { badJson, capabilityRule, firstRule, httpStep, isRecord, openAiModelIds, parseJson, type BodyCheck, type StatusRule } from './common.js';
import type { HttpClient } from './http-client.js';
import type { ProbeAttempt, ProbeContext } from './types.js';
import { PROBE_PNG_DATA_URI } from './vision-image.js';

/**
 * The OpenAI-compatible chat completion every engine here speaks: the deep probe asks for
 * exactly one token at temperature 0, so it costs the server one decode step.
 */

export interface DeepContext extends ProbeContext {
  vision: boolean;
  prompt: string;
}

export function chatCompletionBody(model: string | undefined, prompt: string, vision: boolean): Record<string, unknown> {
  const content = vision
    ? [
        { type: 'text', text: prompt },
        { type: 'image_url', image_url: { url: PROBE_PNG_DATA_URI } },
      ]
    : prompt;
  const body: Record<string, unknown> = { messages: [{ role: 'user', content }], max_tokens: 1, temperature: 0, stream: false };
  if (model !== undefined) body.model = model;
  return body;
}

export const chatCompletionCheck: BodyCheck = (answer) => {
  const json = parseJson(answer.body);
  if (!json.ok || !isRecord(json.value)) return badJson(answer, 'expected a JSON chat completion');
  const choices = json.value.choices;
  if (!Array.isArray(choices) || !isRecord(choices[0])) return badJson(answer, 'no choices[0] in the completion');
  const finish = choices[0].finish_reason;
  return { outcome: 'ok', detail: `generated${typeof finish === 'string' ? ` (finish_reason ${finish})` : ''}` };
};

export function chatCompletionDeep(http: HttpClient, baseUrl: string, ctx: DeepContext, model: string | undefined, statusRule?: StatusRule): Promise<ProbeAttempt> {
  return httpStep(http, 'deep', baseUrl, '/v1/chat/completions', ctx, chatCompletionCheck, {
    method: 'POST',
    json: chatCompletionBody(model, ctx.prompt, ctx.vision),
    statusRule: firstRule(capabilityRule(ctx.vision), statusRule),
  });
}

/**
 * The model to name in a completion: the configured one, else the first the server lists
 * (vLLM and strict OpenAI-compatible servers reject a request without `model`). Returns the
 * failing attempt when the list cannot be read.
 */
export async function resolveModel(http: HttpClient, baseUrl: string, ctx: ProbeContext, configured: string | undefined): Promise<{ model: string } | { attempt: ProbeAttempt }> {
  if (configured !== undefined) return { model: configured };
  let first: string | undefined;
  const attempt = await httpStep(http, 'deep', baseUrl, '/v1/models', ctx, (answer) => {
    const ids = openAiModelIds(answer.body);
    if (!ids) return badJson(answer, 'expected {"data": [{"id": ...}]}');
    first = ids[0];
    return first === undefined ? { outcome: 'model_missing', detail: 'no model listed to send a completion to' } : { outcome: 'ok', detail: first };
  });
  return first !== undefined && attempt.outcome === 'ok' ? { model: first } : { attempt };
}

/** Deep probe for servers that need a model name in the request. */
export async function chatDeepWithModel(http: HttpClient, baseUrl: string, ctx: DeepContext, configured: string | undefined, statusRule?: StatusRule): Promise<ProbeAttempt> {
  const resolved = await resolveModel(http, baseUrl, ctx, configured);
  if ('attempt' in resolved) return resolved.attempt;
  return chatCompletionDeep(http, baseUrl, ctx, resolved.model, statusRule);
}
