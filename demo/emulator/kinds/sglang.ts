/**
 * SGLang (FastAPI): /health is 503 until the server has warmed up, /health_generate runs a
 * real one-token generation (so it hangs with a hung engine), /v1/models and /get_model_info
 * come from static config, OpenAI routes answer vLLM-style {"object":"error"} bodies and the
 * native /generate answers {"error":{"message"}}.
 */
import type { Exchange } from '../http.js';
import { BadRequest, sendEmpty, sendJson, sendText, randomHex, PROMETHEUS_CONTENT_TYPE } from '../http.js';
import type { Engine } from '../engine.js';
import { decodeBase64Image, estimateTokens, parseMaxTokens } from '../chat.js';
import { PromText } from '../prom.js';
import { modelAvailable, modelList, serveChat, type OpenAiFlavor } from './openai-compat.js';
import type { ErrorReplies, KindFactory } from './spec.js';
import { vllmError } from './vllm.js';

const MAX_MODEL_LEN = 32768;
const DECOY_MODEL = 'Qwen/Qwen2.5-7B-Instruct';
/** Routes that need the engine: refused with 503 until the server is up. */
const ENGINE_ROUTES = new Set(['/health', '/health_generate', '/generate', '/v1/chat/completions', '/v1/completions']);

export const sglang: KindFactory = (engine) => {
  const errors: ErrorReplies = {
    badRequest: (x, err) => (x.path === '/generate' ? sendJson(x.res, 400, { error: { message: err.message } }) : vllmError(x, 400, 'BadRequestError', err.message)),
    modelNotFound: (x, model) => (x.path === '/generate' ? sendJson(x.res, 404, { error: { message: `The model \`${model}\` does not exist.` } }) : vllmError(x, 404, 'NotFoundError', `The model \`${model}\` does not exist.`)),
    genFailed: (x) => {
      const message = 'Internal server error: the scheduler process exited unexpectedly (CUDA error: an illegal memory access was encountered)';
      return x.path === '/generate' ? sendJson(x.res, 500, { error: { message } }) : vllmError(x, 500, 'InternalServerError', message);
    },
  };
  const flavor: OpenAiFlavor = {
    errors,
    // SGLang serves one model and does not route on the request's model name.
    accepts: () => true,
    answerModel: (requested) => requested ?? engine.model,
    chatStyle: (out) => ({ choice: { matched_stop: out.finishReason === 'stop' ? 128009 : null }, message: { reasoning_content: null, tool_calls: null }, usage: { prompt_tokens_details: null } }),
    // srt/entrypoints/chat_input/validation.py (recent SGLang; older ones ignore the image)
    textOnlyRefusal: () => "Model only supports text input; received unsupported content type 'image_url'.",
  };
  const served = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);

  const generate = async (x: Exchange) => {
    const body = await x.json();
    const text = body['text'] ?? body['prompt'];
    if (typeof text !== 'string' && body['input_ids'] === undefined) throw new BadRequest('Either text or input_ids should be provided.');
    const sampling = (typeof body['sampling_params'] === 'object' && body['sampling_params'] !== null ? body['sampling_params'] : {}) as Record<string, unknown>;
    const maxTokens = parseMaxTokens(sampling['max_new_tokens'], 'max_new_tokens') ?? 128;
    const images = body['image_data'] === undefined ? [] : Array.isArray(body['image_data']) ? body['image_data'] : [body['image_data']];
    for (const image of images) {
      if (typeof image !== 'string') throw new BadRequest('image_data must be a string');
      decodeBase64Image(image.replace(/^data:image\/[\w.+-]+;base64,/, ''));
    }
    if (!modelAvailable(engine, undefined, flavor)) return errors.modelNotFound(x, engine.model);
    const started = Date.now();
    const out = await engine.generate(x.signal, { promptTokens: estimateTokens(typeof text === 'string' ? text : ' ') + images.length * 64, maxTokens, images: images.length });
    if (out.kind === 'aborted') return;
    if (out.kind === 'failed') return errors.genFailed(x);
    sendJson(x.res, 200, {
      text: out.text,
      meta_info: {
        id: randomHex(16),
        finish_reason: out.finishReason === 'length' ? { type: 'length', length: out.completionTokens } : { type: 'stop', matched: 128009 },
        prompt_tokens: out.promptTokens,
        completion_tokens: out.completionTokens,
        cached_tokens: 0,
        e2e_latency: (Date.now() - started) / 1000,
      },
    });
  };

  return {
    kind: 'sglang',
    closedWhileLoading: false,
    errors,
    routes: {
      'GET /health': (x) => sendEmpty(x.res, 200),
      'GET /health_generate': async (x) => {
        const out = await engine.generate(x.signal, { promptTokens: 1, maxTokens: 1, images: 0 });
        if (out.kind === 'aborted') return;
        sendEmpty(x.res, out.kind === 'ok' ? 200 : 503);
      },
      'GET /v1/models': (x) => sendJson(x.res, 200, modelList([{ id: served(), object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'sglang', root: served(), max_model_len: MAX_MODEL_LEN }])),
      'GET /get_model_info': (x) => sendJson(x.res, 200, { model_path: served(), tokenizer_path: served(), is_generation: true, preferred_sampling_params: null, weight_version: 'default' }),
      'POST /generate': generate,
      'POST /v1/chat/completions': (x) => serveChat(x, engine, flavor),
      'GET /metrics': (x) => {
        if (!engine.config.metrics) return sendJson(x.res, 404, { detail: 'Not Found' });
        sendText(x.res, 200, metrics(engine), PROMETHEUS_CONTENT_TYPE);
      },
    },
    notFound: (x, methodNotAllowed) =>
      methodNotAllowed ? sendJson(x.res, 405, { detail: 'Method Not Allowed' }) : sendJson(x.res, 404, { detail: 'Not Found' }),
    whileLoading: (x) => {
      if (!ENGINE_ROUTES.has(x.path)) return false;
      if (x.path.startsWith('/health')) sendEmpty(x.res, 503);
      else vllmError(x, 503, 'ServiceUnavailableError', 'The server is starting up. Please retry later.');
      return true;
    },
  };
};

function metrics(engine: Engine): string {
  const c = engine.counters;
  const g = engine.gauges();
  const l = { model_name: engine.model };
  const seconds = c.generationSeconds;
  return new PromText('python')
    .add('sglang:num_running_reqs', 'gauge', 'The number of running requests.', [[l, g.running]])
    .add('sglang:num_queue_reqs', 'gauge', 'The number of requests in the waiting queue.', [[l, g.waiting]])
    .add('sglang:num_used_tokens', 'gauge', 'The number of used tokens.', [[l, Math.round(g.kvCacheUsage * MAX_MODEL_LEN)]])
    .add('sglang:token_usage', 'gauge', 'The token usage.', [[l, g.kvCacheUsage]])
    .add('sglang:gen_throughput', 'gauge', 'The generation throughput (token/s).', [[l, seconds > 0 ? c.generatedTokens / seconds : 0]])
    .add('sglang:cache_hit_rate', 'gauge', 'The prefix cache hit rate.', [[l, 0]])
    .add('sglang:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [[l, c.promptTokens]])
    .add('sglang:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [[l, c.generatedTokens]])
    .add('sglang:num_requests_total', 'counter', 'Number of requests processed.', [[l, c.finished.stop + c.finished.length + c.finished.abort]])
    // the scheduler's counter moves as it decodes; the ones above only when a request finishes
    .add('sglang:realtime_tokens_total', 'counter', 'Total number of tokens processed (updated on each log interval).', [
      [{ ...l, mode: 'prefill_compute' }, c.promptTokens],
      [{ ...l, mode: 'decode' }, c.decodedTokens],
    ])
    .toString();
}
