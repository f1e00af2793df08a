/**
 * Each emulated kind speaks its upstream's endpoints and bodies: alive/ready routes, a chat
 * completion with an image, and the error bodies probes will meet.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../demo/emulator/index.js';

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PNG_URI = `data:image/png;base64,${PNG_B64}`;

const running: Emulator[] = [];
after(() => Promise.all(running.map((e) => e.close())));

async function start(options: EmulatorOptions): Promise<Emulator> {
  const emu = await startEmulator({ host: '127.0.0.1', port: 0, ...options });
  running.push(emu);
  return emu;
}

async function get(emu: Emulator, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${emu.url}${path}`, { signal: AbortSignal.timeout(3000), ...init });
}

async function post(emu: Emulator, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
}

function visionChat(model?: string, maxTokens = 1): Record<string, unknown> {
  return {
    ...(model ? { model } : {}),
    max_tokens: maxTokens,
    temperature: 0,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: PNG_URI } }] }],
  };
}

async function assertChatCompletion(res: Response, maxTokens: number): Promise<Record<string, any>> {
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as Record<string, any>;
  assert.equal(body.object, 'chat.completion');
  assert.equal(typeof body.id, 'string');
  assert.equal(typeof body.created, 'number');
  assert.equal(typeof body.model, 'string');
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(typeof body.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(body.choices[0].finish_reason));
  assert.equal(body.usage.completion_tokens, maxTokens);
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  return body;
}

describe('llamacpp', () => {
  test('health, models, props, slots and a vision chat completion', async () => {
    const emu = await start({ kind: 'llamacpp' });
    const health = await get(emu, '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const models = (await (await get(emu, '/v1/models')).json()) as any;
    assert.equal(models.object, 'list');
    assert.equal(models.data[0].id, 'llama-3.2-11b-vision');
    const props = (await (await get(emu, '/props')).json()) as any;
    assert.equal(props.total_slots, 4);
    assert.equal(props.modalities.vision, true);
    const slots = (await (await get(emu, '/slots')).json()) as any[];
    assert.equal(slots.length, 4);
    assert.equal(slots[0].is_processing, false);
    const chat = await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat()), 1);
    assert.equal(chat.choices[0].finish_reason, 'length');
    assert.ok(chat.timings);
    const completion = (await (await post(emu, '/completion', { prompt: 'Hi', n_predict: 2 })).json()) as any;
    assert.equal(completion.tokens_predicted, 2);
    assert.equal(completion.stop_type, 'limit');
    assert.equal(emu.stats().generations, 2);
  });

  test('error bodies: bad JSON, bad image, unknown route, metrics off', async () => {
    const emu = await start({ kind: 'llamacpp' });
    const badJson = await post(emu, '/v1/chat/completions', '{"messages": [');
    assert.equal(badJson.status, 500);
    assert.equal(((await badJson.json()) as any).error.type, 'server_error');
    const notObject = await post(emu, '/v1/chat/completions', '[1]');
    assert.equal(notObject.status, 400);
    assert.equal(((await notObject.json()) as any).error.type, 'invalid_request_error');
    const notPng = visionChat();
    (notPng.messages as any)[0].content[1].image_url.url = `data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`;
    assert.equal((await post(emu, '/v1/chat/completions', notPng)).status, 400);
    const missing = await get(emu, '/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    const metrics = await get(emu, '/metrics');
    assert.equal(metrics.status, 501);
    assert.equal(((await metrics.json()) as any).error.type, 'not_supported_error');
  });

  test('with metrics: real llama.cpp names with HELP and TYPE lines', async () => {
    const emu = await start({ kind: 'llamacpp', metrics: true });
    await post(emu, '/v1/chat/completions', visionChat(undefined, 3));
    const text = await (await get(emu, '/metrics')).text();
    for (const name of ['llamacpp:prompt_tokens_total', 'llamacpp:tokens_predicted_total', 'llamacpp:requests_processing', 'llamacpp:requests_deferred', 'llamacpp:n_decode_total']) {
      assert.match(text, new RegExp(`^# HELP ${name} `, 'm'));
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    }
    assert.match(text, /^llamacpp:tokens_predicted_total 3$/m);
    assert.match(text, /^llamacpp:n_decode_total 3$/m);
  });
});

describe('vllm', () => {
  test('health, version, models and a vision chat completion', async () => {
    const emu = await start({ kind: 'vllm' });
    const health = await get(emu, '/health');
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '');
    assert.equal(typeof ((await (await get(emu, '/version')).json()) as any).version, 'string');
    const models = (await (await get(emu, '/v1/models')).json()) as any;
    assert.equal(models.object, 'list');
    assert.deepEqual(
      { id: models.data[0].id, object: models.data[0].object, owned_by: models.data[0].owned_by, root: models.data[0].root },
      { id: 'Qwen/Qwen2.5-VL-7B-Instruct', object: 'model', owned_by: 'vllm', root: 'Qwen/Qwen2.5-VL-7B-Instruct' },
    );
    assert.equal(typeof models.data[0].max_model_len, 'number');
    const chat = await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat('Qwen/Qwen2.5-VL-7B-Instruct', 4)), 4);
    assert.equal(chat.model, 'Qwen/Qwen2.5-VL-7B-Instruct');
    const completion = (await (await post(emu, '/v1/completions', { model: 'Qwen/Qwen2.5-VL-7B-Instruct', prompt: 'Hi', max_tokens: 2 })).json()) as any;
    assert.equal(completion.object, 'text_completion');
    assert.equal(completion.usage.completion_tokens, 2);
  });

  test('unknown model is a NotFoundError; bad JSON a BadRequestError', async () => {
    const emu = await start({ kind: 'vllm' });
    const res = await post(emu, '/v1/chat/completions', visionChat('other-model'));
    assert.equal(res.status, 404);
    const body = (await res.json()) as any;
    assert.equal(body.object, 'error');
    assert.equal(body.type, 'NotFoundError');
    assert.equal(body.code, 404);
    const bad = await post(emu, '/v1/chat/completions', 'not json');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).type, 'BadRequestError');
    assert.deepEqual(await (await get(emu, '/nope')).json(), { detail: 'Not Found' });
  });

  test('metrics carry model_name labels; old names serve gpu_cache_usage_perc', async () => {
    const emu = await start({ kind: 'vllm' });
    await post(emu, '/v1/chat/completions', visionChat(undefined, 2));
    const text = await (await get(emu, '/metrics')).text();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:generation_tokens_total', 'vllm:prompt_tokens_total', 'vllm:kv_cache_usage_perc']) {
      assert.match(text, new RegExp(`^${name}\\{[^}]*model_name="Qwen/Qwen2.5-VL-7B-Instruct"[^}]*\\} `, 'm'));
    }
    assert.match(text, /^vllm:request_success_total\{[^}]*finished_reason="length"[^}]*\} 1\.0$/m);
    assert.match(text, /^vllm:generation_tokens_total\{[^}]*\} 2\.0$/m);
    assert.doesNotMatch(text, /gpu_cache_usage_perc/);
    const old = await start({ kind: 'vllm', vllmMetricNames: 'old' });
    const oldText = await (await get(old, '/metrics')).text();
    assert.match(oldText, /^vllm:gpu_cache_usage_perc\{model_name=/m);
    assert.doesNotMatch(oldText, /kv_cache_usage_perc/);
  });

  test('--api-key guards /v1 but not /health', async () => {
    const emu = await start({ kind: 'vllm', apiKey: 'sekret' });
    assert.equal((await get(emu, '/health')).status, 200);
    const denied = await get(emu, '/v1/models');
    assert.equal(denied.status, 401);
    assert.deepEqual(await denied.json(), { error: 'Unauthorized' });
    assert.equal((await get(emu, '/v1/models', { headers: { authorization: 'Bearer sekret' } })).status, 200);
  });
});

describe('tgi', () => {
  test('health, info, generate and a vision chat completion', async () => {
    const emu = await start({ kind: 'tgi' });
    assert.equal((await get(emu, '/health')).status, 200);
    const info = (await (await get(emu, '/info')).json()) as any;
    assert.equal(info.model_id, 'meta-llama/Llama-3.2-11B-Vision-Instruct');
    assert.equal(typeof info.max_concurrent_requests, 'number');
    assert.equal(typeof info.version, 'string');
    const gen = await post(emu, '/generate', { inputs: `![](${PNG_URI})What is this?`, parameters: { max_new_tokens: 1 } });
    assert.equal(gen.status, 200);
    const body = (await gen.json()) as any;
    assert.equal(typeof body.generated_text, 'string');
    assert.equal(body.generated_text.split(' ').length, 1);
    await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat('tgi', 2)), 2);
    const text = await (await get(emu, '/metrics')).text();
    for (const name of ['tgi_request_count', 'tgi_request_success', 'tgi_queue_size', 'tgi_batch_current_size', 'tgi_request_generated_tokens_sum', 'tgi_request_generated_tokens_count']) {
      assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? \\d`, 'm'));
    }
  });

  test('validation errors are 422 {error, error_type}; non-JSON is axum plain text 400', async () => {
    const emu = await start({ kind: 'tgi' });
    const invalid = await post(emu, '/generate', { parameters: {} });
    assert.equal(invalid.status, 422);
    assert.equal(((await invalid.json()) as any).error_type, 'validation');
    const bad = await post(emu, '/generate', '{');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^Failed to parse the request body as JSON/);
  });
});

describe('ollama', () => {
  test('root, version, tags, ps, generate, chat and /v1 chat with an image', async () => {
    const emu = await start({ kind: 'ollama' });
    const root = await get(emu, '/');
    assert.equal(await root.text(), 'Ollama is running');
    assert.deepEqual(await (await get(emu, '/api/version')).json(), { version: '0.5.7' });
    const tags = (await (await get(emu, '/api/tags')).json()) as any;
    assert.equal(tags.models[0].name, 'llama3.2-vision:latest');
    for (const key of ['model', 'modified_at', 'size', 'digest', 'details']) assert.ok(key in tags.models[0], key);
    const ps = (await (await get(emu, '/api/ps')).json()) as any;
    assert.equal(ps.models[0].name, 'llama3.2-vision:latest');
    const gen = (await (await post(emu, '/api/generate', { model: 'llama3.2-vision', prompt: 'Hi', stream: false, images: [PNG_B64], options: { num_predict: 1 } })).json()) as any;
    assert.equal(gen.done, true);
    assert.equal(gen.done_reason, 'length');
    assert.equal(gen.eval_count, 1);
    for (const key of ['model', 'created_at', 'response', 'total_duration', 'load_duration', 'prompt_eval_count', 'eval_duration']) assert.ok(key in gen, key);
    const chat = (await (await post(emu, '/api/chat', { model: 'llama3.2-vision:latest', stream: false, messages: [{ role: 'user', content: 'Describe', images: [PNG_B64] }] })).json()) as any;
    assert.equal(chat.message.role, 'assistant');
    assert.equal(chat.done, true);
    await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat('llama3.2-vision', 1)), 1);
    assert.equal((await get(emu, '/metrics')).status, 404);
  });

  test('streams NDJSON unless stream is false; unknown models are 404', async () => {
    const emu = await start({ kind: 'ollama' });
    const lines = (await (await post(emu, '/api/generate', { model: 'llama3.2-vision', prompt: 'Hi', options: { num_predict: 3 } })).text()).trim().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(JSON.parse(lines.at(-1)!).done, true);
    const missing = await post(emu, '/api/generate', { model: 'llama3', prompt: 'Hi', stream: false });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as any).error, /not found/);
  });
});

describe('sglang', () => {
  test('health, health_generate, models, model info, generate and a vision chat completion', async () => {
    const emu = await start({ kind: 'sglang' });
    assert.equal((await get(emu, '/health')).status, 200);
    assert.equal((await get(emu, '/health_generate')).status, 200);
    const models = (await (await get(emu, '/v1/models')).json()) as any;
    assert.equal(models.data[0].id, 'Qwen/Qwen2.5-VL-7B-Instruct');
    const info = (await (await get(emu, '/get_model_info')).json()) as any;
    assert.equal(info.model_path, 'Qwen/Qwen2.5-VL-7B-Instruct');
    assert.equal(info.is_generation, true);
    const gen = (await (await post(emu, '/generate', { text: 'Hi', sampling_params: { max_new_tokens: 2, temperature: 0 } })).json()) as any;
    assert.equal(gen.meta_info.completion_tokens, 2);
    assert.equal(gen.meta_info.finish_reason.type, 'length');
    await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat(undefined, 1)), 1);
    const text = await (await get(emu, '/metrics')).text();
    for (const name of ['sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:generation_tokens_total', 'sglang:prompt_tokens_total']) {
      assert.match(text, new RegExp(`^${name}\\{model_name="Qwen/Qwen2.5-VL-7B-Instruct"\\} `, 'm'));
    }
  });
});

describe('openai', () => {
  test('models and a vision chat completion, with and without the API key', async () => {
    const emu = await start({ kind: 'openai', apiKey: 'sk-test-1234567890' });
    const auth = { authorization: 'Bearer sk-test-1234567890' };
    const models = (await (await get(emu, '/v1/models', { headers: auth })).json()) as any;
    assert.equal(models.data[0].id, 'gpt-4o-mini');
    await assertChatCompletion(await post(emu, '/v1/chat/completions', visionChat('gpt-4o-mini', 2), auth), 2);
    const none = await post(emu, '/v1/chat/completions', visionChat('gpt-4o-mini'));
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as any).error.type, 'invalid_request_error');
    const wrong = await get(emu, '/v1/models', { headers: { authorization: 'Bearer sk-wrong-000000000' } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as any).error.code, 'invalid_api_key');
    const unknown = await post(emu, '/v1/chat/completions', visionChat('gpt-5'), auth);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as any).error.code, 'model_not_found');
  });
});
