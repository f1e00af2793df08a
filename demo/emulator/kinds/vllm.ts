/**
 * vLLM's OpenAI server (FastAPI): the port opens only once the engine is up, /health is 200
 * with an empty body, /v1/models comes from static config (so it answers even when the
 * engine is hung), errors are {"object":"error",...}, and --api-key guards /v1 only.
 * Up to max_num_seqs requests run at once, and the V1 engine's per-step stats move
 * generation_tokens_total while they do.
 */
import type { Exchange } from '../http.js';
import { sendEmpty, sendJson, sendText, PROMETHEUS_CONTENT_TYPE } from '../http.js';
import type { Engine } from '../engine.js';
import { PromText, type Labels } from '../prom.js';
import { modelList, serveChat, serveCompletion, type OpenAiFlavor } from './openai-compat.js';
import { bearerMatches, type ErrorReplies, type KindFactory } from './spec.js';

const MAX_MODEL_LEN = 32768;
const DECOY_MODEL = 'Qwen/Qwen2.5-7B-Instruct';

export function vllmError(x: Exchange, code: number, type: string, message: string): void {
  sendJson(x.res, code, { object: 'error', message, type, param: null, code });
}

export const vllm: KindFactory = (engine) => {
  const errors: ErrorReplies = {
    badRequest: (x, err) => vllmError(x, 400, 'BadRequestError', err.message),
    modelNotFound: (x, model) => vllmError(x, 404, 'NotFoundError', `The model \`${model}\` does not exist.`),
    genFailed: (x) => vllmError(x, 500, 'InternalServerError', 'EngineCore encountered an issue. See stack trace (above) for the root cause.'),
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: (requested) => requested === undefined || requested === engine.model,
    answerModel: () => engine.model,
    chatStyle: () => ({
      message: { reasoning_content: null, tool_calls: [] },
      choice: { stop_reason: null },
      usage: { prompt_tokens_details: null },
      top: { prompt_logprobs: null, kv_transfer_params: null },
    }),
    completionStyle: () => ({ choice: { stop_reason: null, prompt_logprobs: null }, usage: { prompt_tokens_details: null } }),
    // vllm/multimodal/registry.py: a text-only model has no multimodal processor
    textOnlyRefusal: (model) => `${model} is not a multimodal model`,
  };
  const served = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);

  return {
    kind: 'vllm',
    closedWhileLoading: true,
    errors,
    routes: {
      'GET /health': (x) => sendEmpty(x.res, 200),
      'GET /ping': (x) => sendEmpty(x.res, 200),
      'GET /version': (x) => sendJson(x.res, 200, { version: engine.config.vllmMetricNames === 'old' ? '0.6.6.post1' : '0.9.2' }),
      'GET /v1/models': (x) => {
        const id = served();
        sendJson(x.res, 200, modelList([{
          id,
          object: 'model',
          created: Math.floor(Date.now() / 1000),
          owned_by: 'vllm',
          root: id,
          parent: null,
          max_model_len: MAX_MODEL_LEN,
          permission: [{ id: `modelperm-${id.length}`, object: 'model_permission', created: Math.floor(engine.startedAt / 1000), allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: '*', group: null, is_blocking: false }],
        }]));
      },
      'POST /v1/chat/completions': (x) => serveChat(x, engine, flavor),
      'POST /v1/completions': (x) => serveCompletion(x, engine, flavor, 16),
      'GET /metrics': (x) => {
        if (!engine.config.metrics) return sendJson(x.res, 404, { detail: 'Not Found' });
        sendText(x.res, 200, metrics(engine), PROMETHEUS_CONTENT_TYPE);
      },
    },
    notFound: (x, methodNotAllowed) =>
      methodNotAllowed ? sendJson(x.res, 405, { detail: 'Method Not Allowed' }) : sendJson(x.res, 404, { detail: 'Not Found' }),
    authorize: (x) => {
      const key = engine.config.apiKey;
      if (!key || !x.path.startsWith('/v1') || bearerMatches(x, key)) return true;
      sendJson(x.res, 401, { error: 'Unauthorized' });
      return false;
    },
  };
};

function metrics(engine: Engine): string {
  const c = engine.counters;
  const g = engine.gauges();
  const oldNames = engine.config.vllmMetricNames === 'old';
  // V1 added the engine label together with the kv_cache rename.
  const l: Labels = oldNames ? { model_name: engine.model } : { engine: '0', model_name: engine.model };
  const finished = (reason: keyof typeof c.finished): [Labels, number] => [{ ...l, finished_reason: reason }, c.finished[reason]];
  // V1 records iteration stats every engine step: generation tokens move during a request.
  const generated = c.decodedTokens;
  const requests = c.finished.stop + c.finished.length + c.finished.abort;
  const prom = new PromText('python')
    .add('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', [[l, g.running]])
    .add('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', [[l, g.waiting]]);
  if (oldNames) {
    prom
      .add('vllm:num_requests_swapped', 'gauge', 'Number of requests swapped to CPU.', [[l, 0]])
      .add('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage.', [[l, g.kvCacheUsage]])
      .add('vllm:cpu_cache_usage_perc', 'gauge', 'CPU KV-cache usage. 1 means 100 percent usage.', [[l, 0]]);
  } else {
    prom.add('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', [[l, g.kvCacheUsage]]);
  }
  return prom
    .add('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [[l, c.promptTokens]])
    .add('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [[l, generated]])
    .add('vllm:request_success_total', 'counter', 'Count of successfully processed requests.', [finished('stop'), finished('length'), finished('abort')])
    .add('vllm:e2e_request_latency_seconds', 'histogram', 'Histogram of e2e request latency in seconds.', [], [
      ['_bucket', { ...l, le: '+Inf' }, requests],
      ['_count', l, requests],
      ['_sum', l, c.promptSeconds + c.generationSeconds],
    ])
    .toString();
}
