/**
 * Each failure mode's observable effect, in process: what a probe would see.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../demo/emulator/index.js';
import { getRemoteState, setRemoteMode } from '../../../demo/emulator/client.js';

const running: Emulator[] = [];
after(() => Promise.all(running.map((e) => e.close())));

async function start(options: EmulatorOptions): Promise<Emulator> {
  const emu = await startEmulator({ host: '127.0.0.1', port: 0, ...options });
  running.push(emu);
  return emu;
}

function get(emu: Emulator, path: string, timeoutMs = 3000): Promise<Response> {
  return fetch(`${emu.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
}

function chat(emu: Emulator, timeoutMs = 3000, model?: string): Promise<Response> {
  return fetch(`${emu.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(model ? { model } : {}), max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function failure(p: Promise<Response>): Promise<string> {
  try {
    const res = await p;
    return `answered ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name);
  }
}

/** Sum of a metric's samples, whatever its labels. */
function metric(text: string, name: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await delay(20);
  }
}

/** The next time the port opens (or now, if it already has), within `timeoutMs`. */
function opened(emu: Emulator, timeoutMs = 3000): Promise<void> {
  if (emu.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the port did not open within ${timeoutMs} ms`)), timeoutMs);
    emu.on('listening', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function metrics(emu: Emulator): Promise<string> {
  return (await get(emu, '/metrics')).text();
}

describe('loading', () => {
  test('llama.cpp refuses for a moment, then answers 503 "Loading model" on every endpoint, then 200', async () => {
    const emu = await start({ kind: 'llamacpp', loadTimeMs: 600, bindDelayMs: 200 });
    const bound = opened(emu);
    assert.equal(emu.mode(), 'loading');
    assert.equal(await failure(get(emu, '/health')), 'ECONNREFUSED');
    await bound;
    for (const path of ['/health', '/v1/models', '/props']) {
      const res = await get(emu, path);
      assert.equal(res.status, 503, path);
      assert.deepEqual(await res.json(), { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
    }
    assert.equal((await chat(emu)).status, 503);
    assert.ok(await waitFor(async () => (await get(emu, '/health')).status === 200, 2000), 'loaded');
    assert.equal(emu.mode(), 'ok');
  });

  test('vLLM refuses connections until loaded; switching to loading at run time closes the port again', async () => {
    const emu = await start({ kind: 'vllm', loadTimeMs: 250 });
    assert.notEqual(emu.port, 0);
    assert.equal(emu.listening, false);
    const ready = opened(emu);
    assert.equal(await failure(get(emu, '/health')), 'ECONNREFUSED');
    await ready;
    assert.equal((await get(emu, '/health')).status, 200);
    emu.setMode('loading');
    await delay(50);
    assert.equal(await failure(get(emu, '/health')), 'ECONNREFUSED');
    emu.setMode('ok');
    await delay(50);
    assert.equal((await get(emu, '/health')).status, 200);
  });

  test('loading through the control route: the answer arrives, then the port closes for delayMs', async () => {
    const emu = await start({ kind: 'vllm' });
    await setRemoteMode(emu.url, 'loading', { delayMs: 400 });
    assert.equal(emu.mode(), 'loading');
    assert.ok(await waitFor(async () => (await failure(get(emu, '/health'))) === 'ECONNREFUSED', 300), 'the port closed');
    assert.ok(await waitFor(async () => (await failure(get(emu, '/health'))) === 'answered 200', 1000), 'the port reopened');
    assert.equal(emu.mode(), 'ok');
  });

  test('TGI keeps its port closed while loading forever', async () => {
    const emu = await start({ kind: 'tgi', loadTimeMs: Infinity });
    assert.equal(await failure(get(emu, '/health')), 'ECONNREFUSED');
    assert.equal(emu.listening, false);
  });

  test('SGLang answers 503 on /health while starting but lists its model', async () => {
    const emu = await start({ kind: 'sglang', loadTimeMs: Infinity });
    assert.equal((await get(emu, '/health')).status, 503);
    assert.equal((await get(emu, '/v1/models')).status, 200);
  });

  test('Ollama is up at once and a generation waits for the model to load', async () => {
    const emu = await start({ kind: 'ollama', loadTimeMs: 200 });
    assert.equal((await get(emu, '/api/version')).status, 200);
    assert.deepEqual(await (await get(emu, '/api/ps')).json(), { models: [] });
    const started = Date.now();
    const res = await fetch(`${emu.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2-vision', prompt: 'Hi', stream: false }), signal: AbortSignal.timeout(3000) });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 150, 'the generation waited for the load');
  });
});

describe('modes', () => {
  test('hang: requests time out while the control routes answer', async () => {
    const emu = await start({ kind: 'vllm', mode: 'hang' });
    assert.equal(await failure(get(emu, '/health', 300)), 'timeout');
    const state = await getRemoteState(emu.url);
    assert.equal(state.mode, 'hang');
    assert.equal(state.pid, process.pid);
    await setRemoteMode(emu.url, 'ok');
    assert.equal((await get(emu, '/health')).status, 200);
  });

  test('slow: every answer is delayed', async () => {
    const emu = await start({ kind: 'llamacpp', mode: 'slow', delayMs: 200 });
    const started = Date.now();
    assert.equal((await get(emu, '/health')).status, 200);
    assert.ok(Date.now() - started >= 180);
  });

  test('busy: requests running and waiting with progress counters moving', async () => {
    const emu = await start({ kind: 'vllm', mode: 'busy' });
    const first = await metrics(emu);
    await delay(250);
    const second = await metrics(emu);
    assert.ok(metric(first, 'vllm:num_requests_running') > 0);
    assert.ok(metric(first, 'vllm:num_requests_waiting') > 0);
    assert.ok(metric(second, 'vllm:generation_tokens_total') > metric(first, 'vllm:generation_tokens_total'));
    assert.ok(metric(second, 'vllm:request_success_total') > metric(first, 'vllm:request_success_total'));
    const started = Date.now();
    assert.equal((await chat(emu)).status, 200);
    assert.ok(Date.now() - started >= 250, 'generations are slower when busy');
  });

  test('busy: TGI answers 429 overloaded and llama.cpp has no free slot (only /slots says so)', async () => {
    const tgi = await start({ kind: 'tgi', mode: 'busy' });
    const res = await chat(tgi);
    assert.equal(res.status, 429);
    assert.deepEqual(await res.json(), { error: 'Model is overloaded', error_type: 'overloaded' });
    assert.equal((await get(tgi, '/health')).status, 200);
    const llama = await start({ kind: 'llamacpp', mode: 'busy' });
    assert.equal((await get(llama, '/health')).status, 200);
    assert.equal((await get(llama, '/health?fail_on_no_slot=1')).status, 200);
    const noSlot = await get(llama, '/slots?fail_on_no_slot=1');
    assert.equal(noSlot.status, 503);
    assert.equal(((await noSlot.json()) as any).error.message, 'no slot available');
  });

  test('gen_fail: health 200, generation 5xx with the kind\'s body', async () => {
    const emu = await start({ kind: 'vllm', mode: 'gen_fail' });
    assert.equal((await get(emu, '/health')).status, 200);
    const res = await chat(emu);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as any).type, 'InternalServerError');
    const sg = await start({ kind: 'sglang', mode: 'gen_fail' });
    assert.equal((await get(sg, '/health_generate')).status, 503);
  });

  test('gen_hang: health and models fine, generation never answers, counters frozen', async () => {
    const emu = await start({ kind: 'vllm', mode: 'gen_hang' });
    assert.equal((await get(emu, '/health')).status, 200);
    assert.equal((await get(emu, '/v1/models')).status, 200);
    const before = await metrics(emu);
    assert.equal(await failure(chat(emu, 500)), 'timeout');
    const after = await metrics(emu);
    assert.ok(metric(after, 'vllm:num_requests_running') > 0);
    assert.equal(metric(after, 'vllm:generation_tokens_total'), metric(before, 'vllm:generation_tokens_total'));
    assert.equal(metric(after, 'vllm:request_success_total'), metric(before, 'vllm:request_success_total'));
  });

  test('stall: queue looks busy but nothing moves; SGLang health_generate hangs', async () => {
    const emu = await start({ kind: 'sglang', mode: 'stall' });
    assert.equal((await get(emu, '/health')).status, 200);
    const before = await metrics(emu);
    assert.equal(await failure(get(emu, '/health_generate', 300)), 'timeout');
    const after = await metrics(emu);
    assert.ok(metric(after, 'sglang:num_running_reqs') > 0);
    assert.ok(metric(after, 'sglang:num_queue_reqs') > 0);
    assert.equal(metric(after, 'sglang:generation_tokens_total'), metric(before, 'sglang:generation_tokens_total'));
  });

  test('model_missing: the model is not listed and generation is 404', async () => {
    const emu = await start({ kind: 'vllm', mode: 'model_missing' });
    const models = (await (await get(emu, '/v1/models')).json()) as any;
    assert.ok(!models.data.some((m: any) => m.id === 'Qwen/Qwen2.5-VL-7B-Instruct'));
    assert.equal((await chat(emu, 3000, 'Qwen/Qwen2.5-VL-7B-Instruct')).status, 404);
    const ol = await start({ kind: 'ollama', mode: 'model_missing' });
    const tags = (await (await get(ol, '/api/tags')).json()) as any;
    assert.ok(!tags.models.some((m: any) => m.name.startsWith('llama3.2-vision')));
    const tgi = await start({ kind: 'tgi', mode: 'model_missing' });
    assert.notEqual(((await (await get(tgi, '/info')).json()) as any).model_id, 'meta-llama/Llama-3.2-11B-Vision-Instruct');
  });

  test('garbage: 200 with bytes that are not JSON', async () => {
    const emu = await start({ kind: 'llamacpp', mode: 'garbage' });
    const res = await get(emu, '/health');
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.ok(bytes.length >= 512);
    assert.throws(() => JSON.parse(bytes.toString('utf8')));
  });

  test('huge: a 50 MB answer', async () => {
    const emu = await start({ kind: 'openai', mode: 'huge' });
    const res = await get(emu, '/v1/models', 5000);
    let total = 0;
    for await (const chunk of res.body!) total += (chunk as Uint8Array).length;
    assert.ok(total >= 50 * 1024 * 1024);
  });

  test('setMode via the control route switches a running server', async () => {
    const emu = await start({ kind: 'ollama' });
    await setRemoteMode(emu.url, 'gen_fail');
    assert.equal(emu.mode(), 'gen_fail');
    const res = await fetch(`${emu.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2-vision', prompt: 'Hi', stream: false }) });
    assert.equal(res.status, 500);
    assert.match(((await res.json()) as any).error, /llama runner/);
    const bad = await fetch(`${emu.url}/__emulator/mode`, { method: 'POST', body: JSON.stringify({ mode: 'sleepy' }) });
    assert.equal(bad.status, 400);
    assert.equal(emu.stats().requests, 1);
  });

  test('crash: the port closes and "crash" fires; crashAfterMs does it on a timer', async () => {
    const emu = await start({ kind: 'llamacpp' });
    const crashed = new Promise<void>((resolve) => emu.on('crash', resolve));
    emu.setMode('crash');
    await crashed;
    assert.equal(await failure(get(emu, '/health')), 'ECONNREFUSED');
    const timed = await start({ kind: 'sglang', crashAfterMs: 100 });
    await new Promise<void>((resolve) => timed.on('crash', resolve));
    assert.equal(timed.mode(), 'crash');
  });

  test('close() ends hung requests at once', async () => {
    const emu = await start({ kind: 'vllm', mode: 'gen_hang' });
    const pending = failure(chat(emu, 5000));
    await delay(50);
    const started = Date.now();
    await emu.close();
    assert.ok(Date.now() - started < 500);
    assert.notEqual(await pending, 'timeout');
  });
});
