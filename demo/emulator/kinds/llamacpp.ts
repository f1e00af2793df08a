/**
 * llama.cpp `llama-server`: answers 503 "Loading model" on every endpoint while loading,
 * `{"status":"ok"}` on /health once up, and errors as {"error":{code,message,type}}.
 * /metrics exists only when started with --metrics (501 otherwise); its counters of
 * generated tokens move when a request finishes, n_decode_total with every decode step.
 */
import type { Exchange } from '../http.js';
import { sendJson, sendText, PROMETHEUS_CONTENT_TYPE } from '../http.js';
import type { Engine } from '../engine.js';
import { estimateTokens } from '../chat.js';
import { PromText } from '../prom.js';
import { modelAvailable, modelList, serveChat, serveCompletion, type OpenAiFlavor } from './openai-compat.js';
import type { ErrorReplies, KindFactory } from './spec.js';

const BUILD = 'b5091-6a2bc8bf';
const N_CTX = 8192;
const DECOY_MODEL = 'mistral-7b-instruct-v0.3.Q4_K_M';

function error(x: Exchange, code: number, message: string, type: string): void {
  sendJson(x.res, code, { error: { code, message, type } });
}

export const llamacpp: KindFactory = (engine) => {
  const errors: ErrorReplies = {
    badRequest: (x, err) => error(x, 400, err.message, 'invalid_request_error'),
    modelNotFound: (x) => error(x, 404, 'model not found', 'not_found_error'),
    genFailed: (x) => error(x, 500, 'failed to decode the batch, n_batch = 2048, ret = -3', 'server_error'),
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: () => true,
    answerModel: (requested) => requested ?? engine.model,
    chatStyle: (out) => ({ top: { system_fingerprint: BUILD, timings: timings(out.promptTokens, out.promptMs, out.completionTokens, out.genMs) } }),
  };
  const listedModel = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);

  const health = (x: Exchange) => {
    if (x.url.searchParams.has('fail_on_no_slot') && engine.slotsFull()) return error(x, 503, 'no slot available', 'unavailable_error');
    sendJson(x.res, 200, { status: 'ok' });
  };
  const models = (x: Exchange) => {
    const id = listedModel();
    sendJson(x.res, 200, {
      models: [{ name: id, model: id, modified_at: '', size: '', digest: '', type: 'model', description: '', tags: [''], capabilities: ['completion', 'multimodal'], parameters: '', details: { parent_model: '', format: 'gguf', family: '', families: [''], parameter_size: '', quantization_level: '' } }],
      ...modelList([{ id, object: 'model', created: Math.floor(engine.startedAt / 1000), owned_by: 'llamacpp', meta: { vocab_type: 2, n_vocab: 128256, n_ctx_train: 131072, n_embd: 4096, n_params: 9775621632, size: 5959647232 } }]),
    });
  };
  const completion = async (x: Exchange) => {
    const body = await x.json();
    const prompt = typeof body['prompt'] === 'string' ? body['prompt'] : JSON.stringify(body['prompt'] ?? '');
    if (!modelAvailable(engine, undefined, flavor)) return errors.modelNotFound(x, engine.model);
    const nPredict = typeof body['n_predict'] === 'number' && body['n_predict'] >= 0 ? body['n_predict'] : undefined;
    const out = await engine.generate(x.signal, { promptTokens: estimateTokens(prompt), maxTokens: nPredict, ignoreEos: body['ignore_eos'] === true, images: 0 });
    if (out.kind === 'aborted') return;
    if (out.kind === 'failed') return errors.genFailed(x);
    sendJson(x.res, 200, {
      index: 0,
      content: out.text,
      tokens: [],
      id_slot: out.slot,
      stop: true,
      model: engine.model,
      tokens_predicted: out.completionTokens,
      tokens_evaluated: out.promptTokens,
      generation_settings: generationSettings(nPredict ?? -1),
      prompt,
      has_new_line: false,
      truncated: false,
      stop_type: out.finishReason === 'length' ? 'limit' : 'eos',
      stopping_word: '',
      tokens_cached: out.promptTokens + out.completionTokens,
      timings: timings(out.promptTokens, out.promptMs, out.completionTokens, out.genMs),
    });
  };

  return {
    kind: 'llamacpp',
    closedWhileLoading: false,
    errors,
    routes: {
      'GET /health': health,
      'GET /v1/health': health,
      'GET /v1/models': models,
      'GET /models': models,
      'GET /props': (x) =>
        sendJson(x.res, 200, {
          default_generation_settings: { id: 0, id_task: -1, n_ctx: N_CTX, speculative: false, is_processing: false, params: generationSettings(-1) },
          total_slots: engine.slots,
          model_alias: engine.model,
          model_path: `/models/${listedModel()}.gguf`,
          modalities: { vision: true, audio: false },
          chat_template: '{{- bos_token }}{%- for message in messages %}<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content }}<|eot_id|>{%- endfor %}',
          bos_token: '<|begin_of_text|>',
          eos_token: '<|eot_id|>',
          build_info: BUILD,
        }),
      'GET /slots': (x) => {
        const busy = Math.min(engine.slots, engine.gauges().running);
        sendJson(x.res, 200, Array.from({ length: engine.slots }, (_, id) => ({
          id,
          id_task: id < busy ? 1000 + id : -1,
          n_ctx: N_CTX / engine.slots,
          speculative: false,
          is_processing: id < busy,
          params: generationSettings(-1),
          next_token: { has_next_token: id < busy, has_new_line: false, n_remain: -1, n_decoded: id < busy ? 42 : 0, stopping_word: '' },
        })));
      },
      'POST /completion': completion,
      'POST /completions': completion,
      'POST /v1/completions': (x) => serveCompletion(x, engine, flavor, 16),
      'POST /chat/completions': (x) => serveChat(x, engine, flavor),
      'POST /v1/chat/completions': (x) => serveChat(x, engine, flavor),
      'GET /metrics': (x) => {
        if (!engine.config.metrics) return error(x, 501, 'This server does not support metrics endpoint. Start it with `--metrics`', 'not_supported_error');
        sendText(x.res, 200, metrics(engine), PROMETHEUS_CONTENT_TYPE);
      },
    },
    notFound: (x) => error(x, 404, 'File Not Found', 'not_found_error'),
    whileLoading: (x) => {
      error(x, 503, 'Loading model', 'unavailable_error');
      return true;
    },
  };
};

function generationSettings(nPredict: number): Record<string, unknown> {
  return { n_predict: nPredict, seed: 4294967295, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1.0, stream: false, cache_prompt: true };
}

function timings(promptN: number, promptMs: number, predictedN: number, predictedMs: number): Record<string, number> {
  return {
    prompt_n: promptN,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptMs / Math.max(1, promptN),
    prompt_per_second: (promptN * 1000) / Math.max(1, promptMs),
    predicted_n: predictedN,
    predicted_ms: predictedMs,
    predicted_per_token_ms: predictedMs / Math.max(1, predictedN),
    predicted_per_second: (predictedN * 1000) / Math.max(1, predictedMs),
  };
}

function metrics(engine: Engine): string {
  const c = engine.counters;
  const g = engine.gauges();
  return new PromText('plain')
    .add('llamacpp:prompt_tokens_total', 'counter', 'Number of prompt tokens processed.', c.promptTokens)
    .add('llamacpp:prompt_seconds_total', 'counter', 'Prompt process time', c.promptSeconds)
    .add('llamacpp:tokens_predicted_total', 'counter', 'Number of generation tokens processed.', c.generatedTokens)
    .add('llamacpp:tokens_predicted_seconds_total', 'counter', 'Predict process time', c.generationSeconds)
    .add('llamacpp:n_decode_total', 'counter', 'Total number of llama_decode() calls', c.decodes)
    .add('llamacpp:n_busy_slots_per_decode', 'counter', 'Average number of busy slots per llama_decode() call', c.decodes ? c.busySlots / c.decodes : 0)
    .add('llamacpp:prompt_tokens_seconds', 'gauge', 'Average prompt throughput in tokens/s.', c.promptSeconds > 0 ? c.promptTokens / c.promptSeconds : 0)
    .add('llamacpp:predicted_tokens_seconds', 'gauge', 'Average generation throughput in tokens/s.', c.generationSeconds > 0 ? c.generatedTokens / c.generationSeconds : 0)
    .add('llamacpp:kv_cache_usage_ratio', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', g.kvCacheUsage)
    .add('llamacpp:kv_cache_tokens', 'gauge', 'KV-cache tokens.', Math.round(g.kvCacheUsage * N_CTX))
    .add('llamacpp:requests_processing', 'gauge', 'Number of requests processing.', Math.min(engine.slots, g.running))
    .add('llamacpp:requests_deferred', 'gauge', 'Number of requests deferred.', g.waiting + Math.max(0, g.running - engine.slots))
    .toString();
}
