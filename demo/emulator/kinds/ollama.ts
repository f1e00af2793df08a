/**
 * Ollama: the server is up at once and loads models on demand (a generation waits while the
 * model loads), native routes stream NDJSON unless "stream": false, errors are {"error":"..."}
 * natively and OpenAI-shaped under /v1, and there is no /metrics. Model names match with or
 * without the ":latest" tag.
 */
import type { Exchange } from '../http.js';
import { BadRequest, sendJson, sendText } from '../http.js';
import type { Engine, GenOutcome } from '../engine.js';
import { decodeBase64Image, estimateTokens, type GenOk } from '../chat.js';
import { modelList, serveChat, type OpenAiFlavor } from './openai-compat.js';
import type { ErrorReplies, KindFactory } from './spec.js';

const VERSION = '0.5.7';
const DECOY_MODEL = 'qwen2.5:7b';
const DIGEST = '085a1fdae525a3804ac95416b38498099c241defd0f1efc71dcca7f63190ba3d';
const SIZE = 7_901_829_417;
const DETAILS = { parent_model: '', format: 'gguf', family: 'mllama', families: ['mllama'], parameter_size: '10.7B', quantization_level: 'Q4_K_M' };
const MODIFIED_AT = '2025-01-14T09:12:41.561920312Z';

export function ollamaName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

function openAiError(x: Exchange, status: number, message: string): void {
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
  sendJson(x.res, status, { error: { message, type, param: null, code: null } });
}

function reply(x: Exchange, status: number, message: string): void {
  if (x.path.startsWith('/v1/')) openAiError(x, status, message);
  else sendJson(x.res, status, { error: message });
}

export const ollama: KindFactory = (engine) => {
  const served = ollamaName(engine.model);
  const available = (requested: string | undefined) => engine.mode() !== 'model_missing' && requested !== undefined && ollamaName(requested) === served;
  const errors: ErrorReplies = {
    badRequest: (x, err) => reply(x, 400, err.message),
    modelNotFound: (x, model) => reply(x, 404, `model "${model}" not found, try pulling it first`),
    genFailed: (x) => reply(x, 500, 'llama runner process has terminated: exit status 2'),
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: available,
    answerModel: (requested) => requested ?? engine.model,
    chatStyle: () => ({ top: { system_fingerprint: 'fp_ollama' } }),
  };
  const listed = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : served);
  const tagEntry = (name: string) => ({ name, model: name, modified_at: MODIFIED_AT, size: SIZE, digest: DIGEST, details: DETAILS });

  /** The shared part of /api/generate and /api/chat: model checks, images, the generation. */
  const run = async (x: Exchange, body: Record<string, unknown>, prompt: string, images: unknown[]): Promise<GenOutcome | undefined> => {
    const model = body['model'];
    if (typeof model !== 'string' || !model) throw new BadRequest('model is required');
    if (!available(model)) {
      errors.modelNotFound(x, model);
      return undefined;
    }
    for (const image of images) {
      if (typeof image !== 'string') throw new BadRequest('images must be base64-encoded strings');
      decodeBase64Image(image);
    }
    // Ollama 0.30+ passes on its llama-server's refusal (llm/llama_server.go Completion)
    if (images.length > 0 && !engine.config.vision) throw new BadRequest('Multimodal data provided, but model does not support multimodal requests.');
    const options = (typeof body['options'] === 'object' && body['options'] !== null ? body['options'] : {}) as Record<string, unknown>;
    const numPredict = typeof options['num_predict'] === 'number' && options['num_predict'] >= 0 ? options['num_predict'] : undefined;
    return engine.generate(x.signal, { promptTokens: estimateTokens(prompt) + images.length * 64, maxTokens: numPredict, images: images.length });
  };

  const generate = async (x: Exchange) => {
    const body = await x.json();
    const prompt = body['prompt'] ?? '';
    if (typeof prompt !== 'string') throw new BadRequest('prompt must be a string');
    const images = Array.isArray(body['images']) ? body['images'] : [];
    if (!prompt && images.length === 0) return loadOnly(x, engine, body, { response: '' });
    const out = await run(x, body, prompt, images);
    if (!out || out.kind === 'aborted') return;
    if (out.kind === 'failed') return errors.genFailed(x);
    answer(x, body, out, (text, done) => ({ response: text, ...(done ? { context: [128006, 882, 128007, 271] } : {}) }));
  };

  const chat = async (x: Exchange) => {
    const body = await x.json();
    const messages = body['messages'] ?? [];
    if (!Array.isArray(messages)) throw new BadRequest('messages must be an array');
    if (messages.length === 0) return loadOnly(x, engine, body, { message: { role: 'assistant', content: '' } });
    let prompt = '';
    const images: unknown[] = [];
    for (const m of messages as Array<Record<string, unknown>>) {
      if (typeof m !== 'object' || m === null || typeof m['role'] !== 'string') throw new BadRequest('each message needs a role');
      if (typeof m['content'] === 'string') prompt += m['content'];
      if (Array.isArray(m['images'])) images.push(...m['images']);
    }
    const out = await run(x, body, prompt, images);
    if (!out || out.kind === 'aborted') return;
    if (out.kind === 'failed') return errors.genFailed(x);
    answer(x, body, out, (text) => ({ message: { role: 'assistant', content: text } }));
  };

  return {
    kind: 'ollama',
    closedWhileLoading: false,
    errors,
    routes: {
      'GET /': (x) => sendText(x.res, 200, 'Ollama is running'),
      'GET /api/version': (x) => sendJson(x.res, 200, { version: VERSION }),
      'GET /api/tags': (x) => sendJson(x.res, 200, { models: [tagEntry(listed())] }),
      'GET /api/ps': (x) => {
        const loaded = !engine.loading() && engine.mode() !== 'model_missing';
        const expires = new Date(Date.now() + 5 * 60_000).toISOString();
        sendJson(x.res, 200, { models: loaded ? [{ ...tagEntry(served), expires_at: expires, size_vram: SIZE }] : [] });
      },
      'POST /api/show': async (x) => {
        const body = await x.json();
        const name = body['model'] ?? body['name'];
        if (typeof name !== 'string' || !available(name)) return errors.modelNotFound(x, String(name));
        sendJson(x.res, 200, {
          license: 'LLAMA 3.2 COMMUNITY LICENSE AGREEMENT',
          modelfile: `FROM ${served}\n`,
          parameters: 'temperature 0.6\ntop_p 0.9',
          template: '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{- end }}',
          details: DETAILS,
          model_info: { 'general.architecture': 'mllama', 'general.parameter_count': 9775641600, 'mllama.context_length': 131072 },
          capabilities: ['completion', 'vision'],
          modified_at: MODIFIED_AT,
        });
      },
      'POST /api/generate': generate,
      'POST /api/chat': chat,
      'GET /v1/models': (x) => sendJson(x.res, 200, modelList([{ id: listed(), object: 'model', created: Math.floor(Date.parse(MODIFIED_AT) / 1000), owned_by: 'library' }])),
      'POST /v1/chat/completions': async (x) => {
        const body = await x.json();
        if (typeof body['model'] !== 'string') throw new BadRequest('model is required');
        // The body was already read; serveChat re-reads the cached buffer.
        return serveChat(x, engine, flavor);
      },
    },
    notFound: (x, methodNotAllowed) => sendText(x.res, methodNotAllowed ? 405 : 404, methodNotAllowed ? '405 method not allowed' : '404 page not found'),
  };
};

type Fields = (text: string, done: boolean) => Record<string, unknown>;

function nanos(ms: number): number {
  return Math.round(ms * 1e6);
}

function stats(out: GenOk): Record<string, unknown> {
  return {
    total_duration: nanos(out.promptMs + out.genMs + 1),
    load_duration: nanos(1),
    prompt_eval_count: out.promptTokens,
    prompt_eval_duration: nanos(out.promptMs),
    eval_count: out.completionTokens,
    eval_duration: nanos(out.genMs),
  };
}

/** Ollama streams NDJSON by default: a probe that forgets "stream": false gets many lines. */
function answer(x: Exchange, body: Record<string, unknown>, out: GenOk, fields: Fields): void {
  const model = String(body['model']);
  const head = () => ({ model, created_at: new Date().toISOString() });
  const doneReason = out.finishReason === 'length' ? 'length' : 'stop';
  if (body['stream'] === false) {
    sendJson(x.res, 200, { ...head(), ...fields(out.text, true), done_reason: doneReason, done: true, ...stats(out) });
    return;
  }
  x.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  out.tokens.forEach((token, i) => x.res.write(`${JSON.stringify({ ...head(), ...fields(i === 0 ? token : ` ${token}`, false), done: false })}\n`));
  x.res.end(`${JSON.stringify({ ...head(), ...fields('', true), done_reason: doneReason, done: true, ...stats(out) })}\n`);
}

/** An empty prompt only loads the model: Ollama answers done_reason "load" without generating. */
async function loadOnly(x: Exchange, engine: Engine, body: Record<string, unknown>, fields: Record<string, unknown>): Promise<void> {
  const model = body['model'];
  if (typeof model !== 'string' || !model) throw new BadRequest('model is required');
  if (!(await engine.untilLoaded(x.signal))) return;
  if (engine.mode() === 'model_missing' || ollamaName(model) !== ollamaName(engine.model)) {
    return sendJson(x.res, 404, { error: `model "${model}" not found, try pulling it first` });
  }
  sendJson(x.res, 200, { model, created_at: new Date().toISOString(), ...fields, done_reason: 'load', done: true });
}
