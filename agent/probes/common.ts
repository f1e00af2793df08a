import { snippet, type HttpAnswer, type HttpClient, type HttpFailure } from './http-client.js';
import type { ProbeAttempt, ProbeContext, ProbeLevel, ProbeOutcome } from './types.js';

/**
 * The pieces every HTTP probe kind shares: one request turned into one ProbeAttempt, the
 * status codes that mean "busy" or "loading" on every engine, JSON and model-list parsing.
 */

export interface Verdict {
  outcome: ProbeOutcome;
  detail: string;
}

/** Looks at a 2xx answer and says whether it is what the level expects. */
export type BodyCheck = (answer: HttpAnswer) => Verdict;

/** Kind-specific reading of a non-2xx status; undefined falls through to `classifyStatus`. */
export type StatusRule = (status: number, body: string) => Verdict | undefined;

export interface StepOptions {
  method?: 'GET' | 'POST';
  json?: unknown;
  statusRule?: StatusRule;
}

export const OK: Verdict = { outcome: 'ok', detail: 'ok' };

export async function httpStep(
  http: HttpClient,
  level: ProbeLevel,
  baseUrl: string,
  path: string,
  ctx: ProbeContext,
  check: BodyCheck,
  options: StepOptions = {},
): Promise<ProbeAttempt> {
  const reply = await http.request({ method: options.method, url: baseUrl + path, json: options.json, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
  if (!reply.ok) return failedAttempt(level, baseUrl, path, reply);
  const verdict =
    reply.status >= 200 && reply.status < 300 ? safeCheck(check, reply) : (options.statusRule?.(reply.status, reply.body) ?? classifyStatus(reply.status, reply.body));
  return { level, outcome: verdict.outcome, url: baseUrl, latencyMs: reply.latencyMs, status: reply.status, detail: `${path}: ${verdict.detail}` };
}

export function failedAttempt(level: ProbeLevel, baseUrl: string, path: string, failure: HttpFailure): ProbeAttempt {
  const attempt: ProbeAttempt = { level, outcome: failure.outcome, url: baseUrl, latencyMs: failure.latencyMs, detail: `${path}: ${failure.detail}` };
  if (failure.status !== undefined) attempt.status = failure.status;
  return attempt;
}

// A body check is kind code reading untrusted JSON; a slip there must not throw out of the probe.
function safeCheck(check: BodyCheck, answer: HttpAnswer): Verdict {
  try {
    return check(answer);
  } catch {
    return { outcome: 'bad_response', detail: `unexpected body: ${snippet(answer.body, 60)}` };
  }
}

// llama.cpp's and Ollama's wordings for "every slot / queue place taken" (server.cpp, ollama server/sched.go)
const BUSY_503 = /no slot available|no free slot|server busy|maximum pending requests|overloaded/i;
// llama.cpp answers "Loading model" on every endpoint until the weights are in memory;
// OpenAI-style servers and proxies say "the model is (currently) loading"
const LOADING_503 = /loading model|model is (?:currently )?loading/i;

/** Non-2xx statuses as every engine means them: 429 is back-pressure, not failure. */
export function classifyStatus(status: number, body: string): Verdict {
  const text = snippet(body);
  const said = text ? `: ${text}` : '';
  if (status === 429) return { outcome: 'busy', detail: `HTTP 429${said}` };
  if (status === 503 && LOADING_503.test(body)) return { outcome: 'loading', detail: `HTTP 503${said}` };
  if (status === 503 && BUSY_503.test(body)) return { outcome: 'busy', detail: `HTTP 503${said}` };
  return { outcome: 'http_error', detail: `HTTP ${status}${said}` };
}

// What servers answer when a text-only model is sent an image (docs/probing.md lists the
// sources): llama.cpp 500 "image input is not supported - hint: ... mmproj" (seen on a real
// b10472), llama.cpp /completion and Ollama 400 "model does not support multimodal
// requests", vLLM 400 "`m` is not a multimodal model", SGLang 400 "Model only supports text
// input". TGI turns the image into prompt text and answers 200: it cannot be told.
const IMAGES_UNSUPPORTED = /image input is not supported|does not support (?:images?|vision|multi-?modal)|not a multi-?modal model|only supports text input/i;
// vLLM: 404 "The model `x` does not exist."; Ollama: 404 "model 'x' not found"; a llama.cpp
// router: 400 "model 'x' not found"
const MODEL_NOT_SERVED = /model\b[^.]{0,200}(?:does not exist|not found)/i;

/**
 * A deep probe's refusal that no restart can change: images sent to a server without a
 * vision model, or a model the server does not serve. `mismatch` and `model_missing` make
 * the service degraded with a reason that says what to fix, never restarted.
 */
export function capabilityRule(vision: boolean): StatusRule {
  return (status, body) => {
    if (status < 400 || status === 429 || status === 503) return undefined;
    if (vision && IMAGES_UNSUPPORTED.test(body)) {
      return { outcome: 'mismatch', detail: `${visionMismatch} (HTTP ${status}: ${snippet(body, 100)})` };
    }
    if ((status === 404 || status === 400) && MODEL_NOT_SERVED.test(body)) return { outcome: 'model_missing', detail: `HTTP 404: ${snippet(body, 100)}` };
    return undefined;
  };
}

/** What an operator should do when a vision deep probe meets a text-only server. */
export const visionMismatch = 'deepProbe.vision is set but the server does not accept images: serve a vision model (llama.cpp: --mmproj) or set deepProbe.vision: false';

/** The first rule that has a verdict. */
export function firstRule(...rules: (StatusRule | undefined)[]): StatusRule {
  return (status, body) => {
    for (const rule of rules) {
      const verdict = rule?.(status, body);
      if (verdict) return verdict;
    }
    return undefined;
  };
}

export type Json = { ok: true; value: unknown } | { ok: false };

export function parseJson(text: string): Json {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function badJson(answer: HttpAnswer, what: string): Verdict {
  const text = snippet(answer.body, 60);
  return { outcome: 'bad_response', detail: `${what}${text ? `, got: ${text}` : ' (empty body)'}` };
}

/**
 * Model ids from an OpenAI-style `GET /v1/models` (`{data: [{id, root?}]}`); undefined when
 * the body has no such list. vLLM's `root` is the weights path behind a served name.
 */
export function openAiModelIds(body: string): string[] | undefined {
  const json = parseJson(body);
  if (!json.ok || !isRecord(json.value) || !Array.isArray(json.value.data)) return undefined;
  const ids: string[] = [];
  for (const entry of json.value.data) {
    if (!isRecord(entry)) continue;
    if (typeof entry.id === 'string') ids.push(entry.id);
    if (typeof entry.root === 'string' && entry.root !== entry.id) ids.push(entry.root);
  }
  return ids;
}

/** `ready` for servers that list models OpenAI-style: the configured one, or any when none is configured. */
export function modelsListCheck(model: string | undefined): BodyCheck {
  return (answer) => {
    const ids = openAiModelIds(answer.body);
    if (!ids) return badJson(answer, 'expected {"data": [{"id": ...}]}');
    if (model === undefined) return ids.length ? { outcome: 'ok', detail: `${ids.length} model(s) listed` } : { outcome: 'model_missing', detail: 'no model listed' };
    return ids.includes(model) ? { outcome: 'ok', detail: `model ${model} listed` } : { outcome: 'model_missing', detail: `model ${model} not listed (have: ${listForDetail(ids)})` };
  };
}

export function listForDetail(names: string[]): string {
  if (!names.length) return 'none';
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown}, +${names.length - 5} more` : shown;
}

/** Any 2xx answer passes; for endpoints like vLLM's and TGI's `/health` with an empty body. */
export const anyBody: BodyCheck = () => OK;
