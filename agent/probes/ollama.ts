import { badJson, capabilityRule, firstRule, httpStep, isRecord, listForDetail, parseJson, type BodyCheck, type StatusRule } from './common.js';
import { createHttpClient, snippet, type HttpClient } from './http-client.js';
import type { DeepContext } from './openai-compat.js';
import type { ProbeAttempt, ProbeContext, ProbeFactory } from './types.js';
import { PROBE_PNG_BASE64 } from './vision-image.js';

/**
 * Ollama. Names match with or without the implicit `:latest` tag (`llama3.2-vision` is
 * `llama3.2-vision:latest`). Models load on demand, so "listed" is ready; whether it is in
 * memory right now (`/api/ps`) is not a health question. No Prometheus endpoint.
 */
export function sameOllamaModel(a: string, b: string): boolean {
  return withoutLatest(a) === withoutLatest(b);
}

function withoutLatest(name: string): string {
  return name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
}

/** Names from `/api/tags` (`{models: [{name, model}]}`); undefined when the body is not that. */
export function ollamaModelNames(body: string): string[] | undefined {
  const json = parseJson(body);
  if (!json.ok || !isRecord(json.value) || !Array.isArray(json.value.models)) return undefined;
  const names: string[] = [];
  for (const m of json.value.models) {
    if (!isRecord(m)) continue;
    const name = typeof m.name === 'string' ? m.name : typeof m.model === 'string' ? m.model : undefined;
    if (name !== undefined) names.push(name);
  }
  return names;
}

const versionCheck: BodyCheck = (answer) => {
  const json = parseJson(answer.body);
  if (!json.ok || !isRecord(json.value) || typeof json.value.version !== 'string') return badJson(answer, 'expected {"version": ...}');
  return { outcome: 'ok', detail: `version ${json.value.version}` };
};

function tagsCheck(model: string | undefined, found?: (names: string[]) => void): BodyCheck {
  return (answer) => {
    const names = ollamaModelNames(answer.body);
    if (!names) return badJson(answer, 'expected {"models": [...]}');
    found?.(names);
    if (model === undefined) return names.length ? { outcome: 'ok', detail: `${names.length} model(s) listed` } : { outcome: 'model_missing', detail: 'no model pulled' };
    return names.some((n) => sameOllamaModel(n, model))
      ? { outcome: 'ok', detail: `model ${model} listed` }
      : { outcome: 'model_missing', detail: `model ${model} not pulled (have: ${listForDetail(names)})` };
  };
}

const generateCheck: BodyCheck = (answer) => {
  const json = parseJson(answer.body);
  if (!json.ok || !isRecord(json.value) || typeof json.value.response !== 'string') return badJson(answer, 'expected {"response": ...}');
  return { outcome: 'ok', detail: `generated${typeof json.value.done_reason === 'string' ? ` (done_reason ${json.value.done_reason})` : ''}` };
};

// `{"error":"model 'x' not found"}`: the server works, the model is gone
const notFoundIsMissing: StatusRule = (status, body) => (status === 404 ? { outcome: 'model_missing', detail: `HTTP 404: ${snippet(body, 80)}` } : undefined);

async function deep(http: HttpClient, baseUrl: string, ctx: DeepContext, configured: string | undefined): Promise<ProbeAttempt> {
  let model = configured;
  if (model === undefined) {
    let names: string[] = [];
    const listed = await httpStep(http, 'deep', baseUrl, '/api/tags', ctx, tagsCheck(undefined, (n) => (names = n)));
    if (listed.outcome !== 'ok' || !names[0]) return listed;
    model = names[0];
  }
  const body: Record<string, unknown> = { model, prompt: ctx.prompt, stream: false, options: { num_predict: 1, temperature: 0 } };
  if (ctx.vision) body.images = [PROBE_PNG_BASE64];
  return httpStep(http, 'deep', baseUrl, '/api/generate', ctx, generateCheck, { method: 'POST', json: body, statusRule: firstRule(capabilityRule(ctx.vision), notFoundIsMissing) });
}

export const createOllamaProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  return {
    kind: 'ollama',
    alive: (baseUrl: string, ctx: ProbeContext) => httpStep(http, 'alive', baseUrl, '/api/version', ctx, versionCheck),
    ready: (baseUrl: string, ctx: ProbeContext) => httpStep(http, 'ready', baseUrl, '/api/tags', ctx, tagsCheck(service.model)),
    deep: (baseUrl, ctx) => deep(http, baseUrl, ctx, service.model),
  };
};
