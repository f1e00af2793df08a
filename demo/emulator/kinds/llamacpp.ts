/**
 * llama.cpp `llama-server` (as of b10472, `tools/server/`): answers 503 "Loading model" on
 * every endpoint while loading, `{"status":"ok"}` on /health once up (even with every slot
 * busy: requests beyond the slots are deferred, never refused), and errors as
 * {"error":{code,message,type}}. A body that is not JSON is a 500 carrying nlohmann/json's
 * message. /metrics exists only when started with --metrics (501 otherwise); its counters
 * of generated tokens move when a request finishes, n_decode_total with every decode step.
 */
import type { BadRequest, Exchange } from '../http.js';
import { sendJson, sendText, PROMETHEUS_CONTENT_TYPE } from '../http.js';
import type { Engine } from '../engine.js';
import { countImageParts, estimateTokens } from '../chat.js';
import { nlohmannParseError } from '../nlohmann-json.js';
import { PromText } from '../prom.js';
import type { Job } from '../scheduler.js';
import { modelAvailable, modelList, serveChat, serveCompletion, type OpenAiFlavor } from './openai-compat.js';
import type { ErrorReplies, KindFactory } from './spec.js';

const BUILD = 'b10472-d32676d';
/** Context per slot, as /props and /slots report it (b10472 gives each slot the full -c). */
const N_CTX = 8192;
const DECOY_MODEL = 'mistral-7b-instruct-v0.3.Q4_K_M';
/** What a server without a multimodal projector says to an image (b10472, verbatim). */
const IMAGE_UNSUPPORTED = 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj';

function error(x: Exchange, code: number, message: string, type: string): void {
  sendJson(x.res, code, { error: { code, message, type } });
}

/** nlohmann/json's exception, which llama.cpp's handler wrapper turns into a 500. */
function unparsable(x: Exchange, err: BadRequest): void {
  const message = nlohmannParseError(err.raw ?? Buffer.alloc(0)) ?? '[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value';
  error(x, 500, message, 'server_error');
}

export const llamacpp: KindFactory = (engine) => {
  const vision = engine.config.vision;
  const errors: ErrorReplies = {
    badRequest: (x, err) => (err.syntax ? unparsable(x, err) : error(x, 400, err.message, 'invalid_request_error')),
    modelNotFound: (x) => error(x, 404, 'model not found', 'not_found_error'),
    genFailed: (x) => error(x, 500, 'failed to decode the batch, n_batch = 2048, ret = -3', 'server_error'),
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: () => true,
    answerModel: (requested) => requested ?? engine.model,
    chatStyle: (out) => ({
      usage: { prompt_tokens_details: { cached_tokens: 0 } },
      top: { system_fingerprint: BUILD, timings: timings(out.promptTokens, out.promptMs, out.completionTokens, out.genMs) },
    }),
    contextLeft,
  };
  const listedModel = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);

  // fail_on_no_slot is a /slots parameter now: /health stays 200 with every slot busy.
  const health = (x: Exchange) => sendJson(x.res, 200, { status: 'ok' });
  const models = (x: Exchange) => {
    const id = listedModel();
    sendJson(x.res, 200, {
      models: [{ name: id, model: id, modified_at: '', size: '', digest: '', type: 'model', description: '', tags: [''], capabilities: vision ? ['completion', 'multimodal'] : ['completion'], parameters: '', details: { parent_model: '', format: 'gguf', family: '', families: [''], parameter_size: '', quantization_level: '' } }],
      ...modelList([{ id, aliases: [id], tags: [], object: 'model', created: Math.floor(engine.startedAt / 1000), owned_by: 'llamacpp', meta: { vocab_type: 2, n_vocab: 128256, n_ctx: N_CTX, n_ctx_train: 131072, n_embd: 4096, n_params: 9775621632, size: 5959647232, ftype: 'Q4_K - Medium' } }]),
    });
  };
  const completion = async (x: Exchange) => {
    const body = await x.json();
    const prompt = typeof body['prompt'] === 'string' ? body['prompt'] : JSON.stringify(body['prompt'] ?? '');
    if (!modelAvailable(engine, undefined, flavor)) return errors.modelNotFound(x, engine.model);
    const limit = body['n_predict'] ?? body['max_tokens'];
    const nPredict = typeof limit === 'number' && limit >= 0 ? Math.floor(limit) : undefined;
    const ignoreEos = body['ignore_eos'] === true;
    const promptTokens = estimateTokens(prompt);
    const maxTokens = nPredict ?? (ignoreEos ? contextLeft(promptTokens) : undefined);
    const out = await engine.generate(x.signal, { promptTokens, maxTokens, ignoreEos, images: 0 });
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
      generation_settings: generationSettings(nPredict ?? -1, ignoreEos),
      prompt,
      has_new_line: false,
      truncated: false,
      stop_type: out.finishReason === 'length' ? 'limit' : 'eos',
      stopping_word: '',
      tokens_cached: out.promptTokens + out.completionTokens - 1,
      timings: timings(out.promptTokens, out.promptMs, out.completionTokens, out.genMs),
    });
  };
  const chat = async (x: Exchange) => {
    // Refused while the messages are read, before any image is decoded.
    if (!vision && countImageParts(await x.json()) > 0) return error(x, 500, IMAGE_UNSUPPORTED, 'server_error');
    await serveChat(x, engine, flavor);
  };
  const slots = (x: Exchange) => {
    if (x.url.searchParams.has('fail_on_no_slot') && engine.slotsFull()) return error(x, 503, 'no slot available', 'unavailable_error');
    // busy and stall show other clients' requests in the slots real ones leave free
    let phantoms = engine.gauges().running - engine.slotViews().filter((v) => v.job).length;
    sendJson(x.res, 200, engine.slotViews().map(({ id, job }) => {
      const slot = { id, n_ctx: N_CTX, speculative: false };
      if (job) return { ...slot, ...processing(job), params: generationSettings(job.tokens, false), next_token: [nextToken(job)] };
      if (phantoms-- > 0) {
        const phantom = { task: 1000 + id, promptTokens: 96, prompted: true, tokens: 256, produced: 42 };
        return { ...slot, ...processing(phantom), params: generationSettings(-1, false), next_token: [nextToken(phantom)] };
      }
      return { ...slot, is_processing: false, params: generationSettings(-1, false) };
    }));
  };

  return {
    kind: 'llamacpp',
    closedWhileLoading: false,
    bindsLate: true,
    lingersOnTerminate: true,
    errors,
    routes: {
      'GET /health': health,
      'GET /v1/health': health,
      'GET /v1/models': models,
      'GET /models': models,
      'GET /props': (x) =>
        sendJson(x.res, 200, {
          default_generation_settings: { params: generationSettings(-1, false), n_ctx: N_CTX },
          total_slots: engine.slots,
          model_alias: engine.model,
          model_ftype: 'Q4_K - Medium',
          model_path: `/models/${listedModel()}.gguf`,
          modalities: { vision, video: false, audio: false },
          media_marker: '<__media__>',
          endpoint_slots: true,
          endpoint_props: false,
          endpoint_metrics: engine.config.metrics,
          ui: true,
          ui_settings: {},
          chat_template: '{{- bos_token }}{%- for message in messages %}<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content }}<|eot_id|>{%- endfor %}',
          chat_template_caps: { supports_object_arguments: false, supports_parallel_tool_calls: false, supports_preserve_reasoning: false, supports_string_content: true, supports_system_role: true, supports_tool_calls: true, supports_tools: true, supports_typed_content: false },
          bos_token: '<|begin_of_text|>',
          eos_token: '<|eot_id|>',
          build_info: BUILD,
          is_sleeping: false,
          cors_proxy_enabled: false,
        }),
      'GET /slots': slots,
      'POST /completion': completion,
      'POST /completions': completion,
      'POST /v1/completions': (x) => serveCompletion(x, engine, flavor, 16),
      'POST /chat/completions': chat,
      'POST /v1/chat/completions': chat,
      'GET /metrics': (x) => {
        if (!engine.config.metrics) return error(x, 501, 'This server does not support metrics endpoint. Start it with `--metrics`', 'not_supported_error');
        sendText(x.res, 200, metrics(engine), PROMETHEUS_CONTENT_TYPE);
      },
    },
    notFound: (x) => error(x, 404, 'File Not Found', 'not_found_error'),
    whileLoading: (x) => {
      // this one body lists its fields in another order than the other errors (b10472)
      sendJson(x.res, 503, { error: { message: 'Loading model', type: 'unavailable_error', code: 503 } });
      return true;
    },
  };
};

/** Where a generation that ignores EOS with no limit stops: the slot's context is full. */
function contextLeft(promptTokens: number): number {
  return Math.max(1, N_CTX - promptTokens);
}

type SlotJob = Pick<Job, 'task' | 'promptTokens' | 'prompted' | 'tokens' | 'produced'>;

function processing(job: SlotJob): Record<string, unknown> {
  return {
    is_processing: true,
    id_task: job.task,
    n_prompt_tokens: job.promptTokens,
    n_prompt_tokens_processed: job.prompted ? job.promptTokens : 0,
    n_prompt_tokens_cache: 0,
  };
}

function nextToken(job: SlotJob): Record<string, unknown> {
  return { has_next_token: true, has_new_line: false, n_remain: job.tokens - job.produced, n_decoded: job.produced };
}

function generationSettings(nPredict: number, ignoreEos: boolean): Record<string, unknown> {
  return { seed: 4294967295, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1.0, max_tokens: nPredict, n_predict: nPredict, ignore_eos: ignoreEos, stream: false, samplers: ['penalties', 'dry', 'top_n_sigma', 'top_k', 'typ_p', 'top_p', 'min_p', 'xtc', 'temperature'] };
}

function timings(promptN: number, promptMs: number, predictedN: number, predictedMs: number): Record<string, number> {
  return {
    cache_n: 0,
    prompt_n: promptN,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptMs / Math.max(1, promptN),
    prompt_per_second: (promptN * 1000) / Math.max(1e-3, promptMs),
    predicted_n: predictedN,
    predicted_ms: predictedMs,
    predicted_per_token_ms: predictedMs / Math.max(1, predictedN),
    predicted_per_second: (predictedN * 1000) / Math.max(1e-3, predictedMs),
  };
}

/** Throughput as b10472 computes it: infinite when tokens came in no measured time. */
function perSecond(tokens: number, seconds: number): number {
  return tokens ? tokens / seconds : 0;
}

/** b10472's /metrics: every counter, then every gauge, each with HELP and TYPE lines. */
function metrics(engine: Engine): string {
  const c = engine.counters;
  const g = engine.gauges();
  return new PromText('iostream')
    .add('llamacpp:prompt_tokens_total', 'counter', 'Number of prompt tokens processed.', c.promptTokens)
    .add('llamacpp:prompt_seconds_total', 'counter', 'Prompt process time', c.promptSeconds)
    .add('llamacpp:tokens_predicted_total', 'counter', 'Number of generation tokens processed.', c.generatedTokens)
    .add('llamacpp:tokens_predicted_seconds_total', 'counter', 'Predict process time', c.generationSeconds)
    .add('llamacpp:n_decode_total', 'counter', 'Total number of llama_decode() calls', c.decodes)
    .add('llamacpp:n_tokens_max', 'counter', 'Largest observed n_tokens.', Math.min(N_CTX - 1, c.maxSlotTokens))
    .add('llamacpp:spec_decode_num_draft_tokens_total', 'counter', 'Total draft tokens generated', 0)
    .add('llamacpp:spec_decode_num_accepted_tokens_total', 'counter', 'Total draft tokens accepted by the target model', 0)
    .add('llamacpp:spec_decode_num_drafts_total', 'counter', 'Total speculative decoding verification steps', 0)
    .add('llamacpp:prompt_tokens_seconds', 'gauge', 'Average prompt throughput in tokens/s.', perSecond(c.promptTokens, c.promptSeconds))
    .add('llamacpp:predicted_tokens_seconds', 'gauge', 'Average generation throughput in tokens/s.', perSecond(c.generatedTokens, c.generationSeconds))
    .add('llamacpp:requests_processing', 'gauge', 'Number of requests processing.', Math.min(engine.slots, g.running))
    .add('llamacpp:requests_deferred', 'gauge', 'Number of requests deferred.', g.waiting + Math.max(0, g.running - engine.slots))
    .add('llamacpp:n_busy_slots_per_decode', 'gauge', 'Average number of busy slots per llama_decode() call', c.decodes ? c.busySlots / c.decodes : 0)
    .toString();
}
