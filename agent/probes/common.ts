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
