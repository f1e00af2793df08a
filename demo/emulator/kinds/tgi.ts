/**
 * Hugging Face text-generation-inference (axum router): the router binds its port only after
 * the shard has loaded, errors are {"error","error_type"}, overload is 429
 * "Model is overloaded", a failed generation is 424, and a body that is not JSON gets axum's
 * plain-text 400. TGI serves one model and ignores the request's `model` field.
 */
import type { Exchange } from '../http.js';
import { BadRequest, sendEmpty, sendJson, sendText, PROMETHEUS_CONTENT_TYPE } from '../http.js';
import type { Engine } from '../engine.js';
import { decodeBase64Image, estimateTokens, parseMaxTokens } from '../chat.js';
import { PromText } from '../prom.js';
import { modelAvailable, modelList, serveChat, type OpenAiFlavor } from './openai-compat.js';
import type { ErrorReplies, KindFactory } from './spec.js';

const VERSION = '3.0.1';
const SHA = '7a2d1d5c06a1f6ba2b9bc45ec31b1ad3ff4a6e5c';
const DECOY_MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';
const MAX_CONCURRENT = 128;
/** TGI's VLM prompt syntax: images inlined as markdown. */
const MARKDOWN_IMAGE_RE = /!\[\]\((data:image\/[\w.+-]+;base64,([^)]*))\)/g;

function tgiError(x: Exchange, status: number, errorType: string, message: string): void {
  sendJson(x.res, status, { error: message, error_type: errorType });
}

export const tgi: KindFactory = (engine) => {
  const errors: ErrorReplies = {
    badRequest: (x, err) => (err.syntax ? sendText(x.res, 400, `Failed to parse the request body as JSON: ${err.message}`) : tgiError(x, 422, 'validation', err.message)),
    modelNotFound: (x, model) => tgiError(x, 404, 'model_not_found', `Model ${model} not found`),
    genFailed: (x) => tgiError(x, 424, 'generation', 'Request failed during generation: Server error: CUDA error: an illegal memory access was encountered'),
  };
  const overloaded = (x: Exchange): boolean => {
    if (engine.mode() !== 'busy') return false;
    tgiError(x, 429, 'overloaded', 'Model is overloaded');
    return true;
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: () => true,
    answerModel: () => engine.model,
    refuse: overloaded,
    chatStyle: () => ({ idPrefix: '', top: { system_fingerprint: `${VERSION}-sha-${SHA.slice(0, 7)}` } }),
  };
  const servedModel = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);

  const generate = async (x: Exchange) => {
    const body = await x.json();
    const inputs = body['inputs'];
    if (typeof inputs !== 'string') throw new BadRequest('Failed to deserialize the JSON body into the target type: missing field `inputs`');
    const params = (typeof body['parameters'] === 'object' && body['parameters'] !== null ? body['parameters'] : {}) as Record<string, unknown>;
    let images = 0;
    for (const m of inputs.matchAll(MARKDOWN_IMAGE_RE)) {
      decodeBase64Image(m[2]!);
      images++;
    }
    const maxTokens = parseMaxTokens(params['max_new_tokens'], 'max_new_tokens') ?? 100;
    if (!modelAvailable(engine, undefined, flavor)) return errors.modelNotFound(x, engine.model);
    if (overloaded(x)) return;
    const out = await engine.generate(x.signal, { promptTokens: estimateTokens(inputs.replace(MARKDOWN_IMAGE_RE, '')) + images * 64, maxTokens, images });
    if (out.kind === 'aborted') return;
    if (out.kind === 'failed') return errors.genFailed(x);
    const details = params['details'] === true
      ? { details: { finish_reason: out.finishReason === 'length' ? 'length' : 'eos_token', generated_tokens: out.completionTokens, seed: null, prefill: [], tokens: out.tokens.map((text, id) => ({ id, text, logprob: -0.5, special: false })) } }
      : {};
    sendJson(x.res, 200, { generated_text: out.text, ...details }, { 'x-compute-type': '1-nvidia-a10g', 'x-generated-tokens': String(out.completionTokens) });
  };

  return {
    kind: 'tgi',
    closedWhileLoading: true,
    errors,
    routes: {
      'GET /health': (x) => sendEmpty(x.res, 200),
      'GET /info': (x) =>
        sendJson(x.res, 200, {
          model_id: servedModel(),
          model_sha: SHA,
          model_pipeline_tag: 'image-text-to-text',
          max_concurrent_requests: MAX_CONCURRENT,
          max_best_of: 2,
          max_stop_sequences: 4,
          max_input_tokens: 8191,
          max_total_tokens: 8192,
          validation_workers: 2,
          max_client_batch_size: 4,
          router: 'text-generation-router',
          version: VERSION,
          sha: SHA,
          docker_label: `sha-${SHA.slice(0, 7)}`,
        }),
      'GET /v1/models': (x) => sendJson(x.res, 200, modelList([{ id: servedModel(), object: 'model', created: Math.floor(engine.startedAt / 1000), owned_by: servedModel() }])),
      'POST /generate': generate,
      'POST /v1/chat/completions': (x) => serveChat(x, engine, flavor),
      'GET /metrics': (x) => {
        if (!engine.config.metrics) return sendEmpty(x.res, 404);
        sendText(x.res, 200, metrics(engine), PROMETHEUS_CONTENT_TYPE);
      },
    },
    notFound: (x, methodNotAllowed) => sendEmpty(x.res, methodNotAllowed ? 405 : 404),
  };
};

function metrics(engine: Engine): string {
  const c = engine.counters;
  const g = engine.gauges();
  const success = c.finished.stop + c.finished.length;
  const requests = success + engine.inFlight();
  // prefill steps of the requests that went through (a hung engine completes none)
  const prefills = success;
  return new PromText('plain')
    .add('tgi_request_count', 'counter', 'Total number of requests', requests)
    .add('tgi_request_success', 'counter', 'Number of successful requests', success)
    .add('tgi_queue_size', 'gauge', 'Current queue size', g.waiting)
    .add('tgi_batch_current_size', 'gauge', 'Current batch size', g.running)
    .add('tgi_batch_current_max_tokens', 'gauge', 'Maximum tokens for the current batch', g.running * 8192)
    // backends/v3/src/backend.rs counts every prefill and decode step of the batch, as it runs
    .add('tgi_batch_inference_count', 'counter', undefined, [[{ method: 'prefill' }, prefills], [{ method: 'decode' }, c.decodes]])
    .add('tgi_batch_inference_success', 'counter', undefined, [[{ method: 'prefill' }, prefills], [{ method: 'decode' }, c.decodes]])
    .add('tgi_request_input_length', 'histogram', 'Input token length per request', [], [
      ['_sum', undefined, c.promptTokens],
      ['_count', undefined, success],
    ])
    .add('tgi_request_generated_tokens', 'histogram', 'Generated tokens per request', [], [
      ['_bucket', { le: '+Inf' }, success],
      ['_sum', undefined, c.generatedTokens],
      ['_count', undefined, success],
    ])
    .toString();
}
