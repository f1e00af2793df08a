import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { crc32, inflateSync } from 'node:zlib';
import { createProbeDispatcher } from '../../../agent/probes/http-client.js';
import { createProbe, probeFactories } from '../../../agent/probes/registry.js';
import { sameOllamaModel } from '../../../agent/probes/ollama.js';
import type { Probe, ProbeContext } from '../../../agent/probes/types.js';
import { FakeClock } from '../../../shared/clock.js';
import { SERVICE_KINDS, type ServiceConfig, type ServiceKind } from '../../../shared/config/agent-config.js';

const dispatcher = createProbeDispatcher();
after(() => dispatcher.destroy());
const ctx: ProbeContext = { timeoutMs: 2_000 };
const deepCtx = (vision = false) => ({ timeoutMs: 2_000, vision, prompt: 'Say OK.' });

interface Seen {
  method: string;
  path: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
type Reply = { status?: number; json?: unknown; text?: string; hang?: boolean };
type Routes = Record<string, Reply | ((seen: Seen) => Reply)>;

/** A stand-in LLM server: `routes` maps "METHOD /path" to an answer; every request is logged. */
async function fakeServer(routes: Routes) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      const entry: Seen = { method: req.method ?? '', path: req.url ?? '', body: raw ? JSON.parse(raw) : undefined };
      seen.push(entry);
      const route = routes[`${entry.method} ${entry.path}`];
      const reply = typeof route === 'function' ? route(entry) : (route ?? { status: 404, json: { error: 'not found' } });
      if (reply.hang) return;
      const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
      res.writeHead(reply.status ?? 200, { 'content-type': reply.json !== undefined ? 'application/json' : 'text/plain' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function svc(kind: ServiceKind, url: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name: 'svc', kind, url, fallbackUrls: [], labels: {}, metrics: 'auto', metricsPath: '/metrics',
    interval: 10_000, timeout: 2_000, retries: 3, retryDelay: 2_000, startupGrace: 600_000, recoverAfter: 2, stallAfter: 60_000,
    ...extra,
  };
}

function probeFor(kind: ServiceKind, url: string, extra: Partial<ServiceConfig> = {}): Probe {
  return createProbe(svc(kind, url, extra), { clock: new FakeClock(), dispatcher });
}

async function withServer(routes: Routes, fn: (s: Awaited<ReturnType<typeof fakeServer>>) => Promise<void>) {
  const s = await fakeServer(routes);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const completion = { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'length' }] };
const models = (...ids: string[]) => ({ object: 'list', data: ids.map((id) => ({ id, object: 'model', owned_by: 'vllm' })) });

/** Checks a PNG byte for byte: signature, chunk CRCs, and that IDAT inflates to width x height pixels. */
function assertValidPng(dataUri: string) {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUri);
  assert.ok(m, `a PNG data URI, got ${dataUri.slice(0, 40)}`);
  assertValidPngBytes(Buffer.from(m[1]!, 'base64'));
}
function assertValidPngBytes(png: Buffer) {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    assert.equal(png.readUInt32BE(off + 8 + len), crc32(png.subarray(off + 4, off + 8 + len)) >>> 0, `${type} CRC`);
    if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === 'IDAT') idat.push(data);
    types.push(type);
    off += 12 + len;
  }
  assert.deepEqual([types[0], types.at(-1)], ['IHDR', 'IEND']);
  assert.ok(width >= 1 && height >= 1);
  // colour type 2 (RGB, 8 bit): one filter byte plus 3 bytes per pixel per row
  assert.equal(inflateSync(Buffer.concat(idat)).length, height * (1 + width * 3));
}

test('the registry has a probe for every kind', () => {
  assert.deepEqual(Object.keys(probeFactories).sort(), [...SERVICE_KINDS].sort());
  for (const kind of SERVICE_KINDS) {
    const url = kind === 'tcp' ? 'tcp://127.0.0.1:1' : 'http://127.0.0.1:1';
    const probe = createProbe(svc(kind, url), { clock: new FakeClock() });
    assert.equal(probe.kind, kind);
    assert.equal(typeof probe.deep === 'function', kind !== 'http' && kind !== 'tcp', `${kind} deep`);
  }
});

describe('llamacpp', () => {
  test('200 {"status":"ok"} is ok; ready is the same check', async () => {
    await withServer({ 'GET /health': { json: { status: 'ok' } } }, async (s) => {
      const probe = probeFor('llamacpp', s.url);
      assert.equal(probe.readyIsAlive, true);
      assert.equal((await probe.alive(s.url, ctx)).outcome, 'ok');
      const ready = await probe.ready(s.url, ctx);
      assert.equal(ready.level, 'ready');
      assert.equal(ready.outcome, 'ok');
    });
  });
  test('503 "Loading model" is loading, on health and on completions', async () => {
    const loading = { status: 503, json: { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } } };
    await withServer({ 'GET /health': loading, 'POST /v1/chat/completions': loading }, async (s) => {
      const probe = probeFor('llamacpp', s.url);
      const alive = await probe.alive(s.url, ctx);
      assert.equal(alive.outcome, 'loading');
      assert.equal(alive.status, 503);
      assert.match(alive.detail, /Loading model/);
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'loading');
    });
  });
  test('503 "no slot available" is busy', async () => {
    await withServer({ 'GET /health': { status: 503, json: { status: 'no slot available', slots_idle: 0, slots_processing: 4 } } }, async (s) => {
      assert.equal((await probeFor('llamacpp', s.url).alive(s.url, ctx)).outcome, 'busy');
    });
  });
  test('500 and a non-JSON 200 are failures', async () => {
    await withServer({ 'GET /health': { status: 500, json: { error: { message: 'model failed to load' } } } }, async (s) => {
      assert.equal((await probeFor('llamacpp', s.url).alive(s.url, ctx)).outcome, 'http_error');
    });
    await withServer({ 'GET /health': { text: '<html>proxy error</html>' } }, async (s) => {
      assert.equal((await probeFor('llamacpp', s.url).alive(s.url, ctx)).outcome, 'bad_response');
    });
  });
  test('with a model configured, ready asks /v1/models (alias, or the file name with or without .gguf)', async () => {
    const list = { object: 'list', data: [{ id: '/models/Llama-3.2-11B-Vision-Instruct.Q4_K_M.gguf', object: 'model' }, { id: 'vision', object: 'model' }] };
    await withServer({ 'GET /health': { json: { status: 'ok' } }, 'GET /v1/models': { json: list } }, async (s) => {
      for (const model of ['vision', 'Llama-3.2-11B-Vision-Instruct.Q4_K_M', 'Llama-3.2-11B-Vision-Instruct.Q4_K_M.gguf']) {
        const probe = probeFor('llamacpp', s.url, { model });
        assert.equal(probe.readyIsAlive, false);
        assert.equal((await probe.ready(s.url, ctx)).outcome, 'ok', model);
      }
      const missing = await probeFor('llamacpp', s.url, { model: 'qwen' }).ready(s.url, ctx);
      assert.equal(missing.outcome, 'model_missing');
      assert.match(missing.detail, /\/v1\/models: model qwen not loaded/);
    });
  });
  test('deep: one token at temperature 0, choices[0] checked, vision sends a valid PNG data URI', async () => {
    await withServer({ 'POST /v1/chat/completions': { json: completion } }, async (s) => {
      const probe = probeFor('llamacpp', s.url);
      const plain = await probe.deep!(s.url, deepCtx());
      assert.equal(plain.outcome, 'ok');
      assert.equal(plain.level, 'deep');
      assert.equal(s.seen[0]!.body.max_tokens, 1);
      assert.equal(s.seen[0]!.body.temperature, 0);
      assert.equal(s.seen[0]!.body.messages[0].content, 'Say OK.');
      assert.equal((await probe.deep!(s.url, deepCtx(true))).outcome, 'ok');
      const content = s.seen[1]!.body.messages[0].content;
      assert.equal(content[0].type, 'text');
      assert.equal(content[1].type, 'image_url');
      assertValidPng(content[1].image_url.url);
    });
  });
  test('deep: a 200 without choices is bad_response; 429 busy; 5xx http_error; a hang times out', async () => {
    let reply: Reply = { json: { error: 'nope' } };
    await withServer({ 'POST /v1/chat/completions': () => reply }, async (s) => {
      const probe = probeFor('llamacpp', s.url);
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'bad_response');
      reply = { status: 429, json: { error: { message: 'too many requests' } } };
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'busy');
      reply = { status: 500, json: { error: { message: 'CUDA error' } } };
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'http_error');
      reply = { hang: true };
      const hung = await probe.deep!(s.url, { ...deepCtx(), timeoutMs: 150 });
      assert.equal(hung.outcome, 'timeout');
    });
  });
});

describe('vllm', () => {
  test('health then ready = the configured model is listed (by id or root)', async () => {
    await withServer({ 'GET /health': { text: '' }, 'GET /v1/models': { json: { object: 'list', data: [{ id: 'qwen-vl', root: 'Qwen/Qwen2.5-VL-7B-Instruct' }] } } }, async (s) => {
      assert.equal((await probeFor('vllm', s.url).alive(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('vllm', s.url, { model: 'qwen-vl' }).ready(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('vllm', s.url, { model: 'Qwen/Qwen2.5-VL-7B-Instruct' }).ready(s.url, ctx)).outcome, 'ok');
      const missing = await probeFor('vllm', s.url, { model: 'llama-3' }).ready(s.url, ctx);
      assert.equal(missing.outcome, 'model_missing');
      assert.match(missing.detail, /llama-3 not listed \(have: qwen-vl/);
      assert.equal((await probeFor('vllm', s.url).ready(s.url, ctx)).outcome, 'ok', 'no model configured: any model');
    });
  });
  test('an empty model list is model_missing; garbage is bad_response', async () => {
    let reply: Reply = { json: models() };
    await withServer({ 'GET /v1/models': () => reply }, async (s) => {
      assert.equal((await probeFor('vllm', s.url).ready(s.url, ctx)).outcome, 'model_missing');
      reply = { json: { models: [] } };
      assert.equal((await probeFor('vllm', s.url).ready(s.url, ctx)).outcome, 'bad_response');
    });
  });
  test('deep without a configured model names the first listed one', async () => {
    await withServer({ 'GET /v1/models': { json: models('served-a', 'served-b') }, 'POST /v1/chat/completions': { json: completion } }, async (s) => {
      assert.equal((await probeFor('vllm', s.url).deep!(s.url, deepCtx())).outcome, 'ok');
      assert.equal(s.seen.at(-1)!.body.model, 'served-a');
      assert.equal((await probeFor('vllm', s.url, { model: 'served-b' }).deep!(s.url, deepCtx(true))).outcome, 'ok');
      assert.equal(s.seen.at(-1)!.body.model, 'served-b');
      assertValidPng(s.seen.at(-1)!.body.messages[0].content[1].image_url.url);
    });
  });
  test('metrics: old and new KV cache names, summed over label sets; 404 is absent', async () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{engine="0",model_name="qwen"} 2.0',
      'vllm:num_requests_running{engine="1",model_name="qwen"} 1.0',
      'vllm:num_requests_waiting{engine="0",model_name="qwen"} 4.0',
      'vllm:gpu_cache_usage_perc{engine="0",model_name="qwen"} 0.25',
      'vllm:generation_tokens_total{engine="0",model_name="qwen"} 1000.0',
      'vllm:request_success_total{engine="0",finished_reason="stop",model_name="qwen"} 10.0',
      'vllm:request_success_total{engine="0",finished_reason="length",model_name="qwen"} 5.0',
    ].join('\n');
    await withServer({ 'GET /metrics': { text } }, async (s) => {
      const read = await probeFor('vllm', s.url).metrics!(s.url, ctx);
      assert.equal(read.status, 'ok');
      assert.ok(read.status === 'ok');
      assert.deepEqual({ ...read.sample, at: 0 }, { at: 0, running: 3, waiting: 4, progress: 1015, kvCacheUsage: 0.25 });
    });
    await withServer({}, async (s) => {
      assert.equal((await probeFor('vllm', s.url).metrics!(s.url, ctx)).status, 'absent');
    });
  });
});

describe('tgi', () => {
  test('/info model_id is ready; a different model is model_missing', async () => {
    await withServer({ 'GET /health': { text: '' }, 'GET /info': { json: { model_id: 'meta-llama/Llama-3.1-8B-Instruct', max_total_tokens: 8192 } } }, async (s) => {
      assert.equal((await probeFor('tgi', s.url).alive(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('tgi', s.url).ready(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('tgi', s.url, { model: 'meta-llama/Llama-3.1-8B-Instruct' }).ready(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('tgi', s.url, { model: 'other' }).ready(s.url, ctx)).outcome, 'model_missing');
    });
  });
  test('429 "Model is overloaded" is busy, for health and deep', async () => {
    const overloaded = { status: 429, json: { error: 'Model is overloaded', error_type: 'overloaded' } };
    await withServer({ 'GET /health': overloaded, 'POST /v1/chat/completions': overloaded }, async (s) => {
      const probe = probeFor('tgi', s.url);
      const alive = await probe.alive(s.url, ctx);
      assert.equal(alive.outcome, 'busy');
      assert.match(alive.detail, /Model is overloaded/);
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'busy');
    });
  });
  test('deep uses chat completions, and /generate where there is no chat route', async () => {
    await withServer({ 'POST /v1/chat/completions': { json: completion } }, async (s) => {
      assert.equal((await probeFor('tgi', s.url).deep!(s.url, deepCtx())).outcome, 'ok');
      assert.equal(s.seen[0]!.body.max_tokens, 1);
    });
    await withServer({ 'POST /generate': { json: { generated_text: ' OK' } } }, async (s) => {
      assert.equal((await probeFor('tgi', s.url).deep!(s.url, deepCtx(true))).outcome, 'ok');
      const generate = s.seen.find((r) => r.path === '/generate')!;
      assert.deepEqual(generate.body.parameters, { max_new_tokens: 1, do_sample: false });
      const uri = /!\[\]\((data:image\/png;base64,[^)]+)\)/.exec(generate.body.inputs)?.[1];
      assertValidPng(uri ?? '');
    });
  });
  test('metrics: queue, batch, successes and generated tokens', async () => {
    const text = 'tgi_queue_size 3\ntgi_batch_current_size 8\ntgi_request_success 120\ntgi_request_generated_tokens_sum 5000\ntgi_request_generated_tokens_count 120\n';
    await withServer({ 'GET /metrics': { text } }, async (s) => {
      const read = await probeFor('tgi', s.url).metrics!(s.url, ctx);
      assert.ok(read.status === 'ok');
      assert.deepEqual([read.sample.running, read.sample.waiting, read.sample.progress], [8, 3, 5120]);
    });
  });
});

describe('ollama', () => {
  const tags = { models: [{ name: 'llama3.2-vision:latest', model: 'llama3.2-vision:latest', size: 7_900_000_000 }, { name: 'qwen2.5vl:7b', model: 'qwen2.5vl:7b' }] };
  test('alive is /api/version; ready matches names with or without :latest', async () => {
    await withServer({ 'GET /api/version': { json: { version: '0.6.5' } }, 'GET /api/tags': { json: tags } }, async (s) => {
      assert.equal((await probeFor('ollama', s.url).alive(s.url, ctx)).outcome, 'ok');
      for (const model of ['llama3.2-vision', 'llama3.2-vision:latest', 'qwen2.5vl:7b']) {
        assert.equal((await probeFor('ollama', s.url, { model }).ready(s.url, ctx)).outcome, 'ok', model);
      }
      for (const model of ['qwen2.5vl', 'llama3.2-vision:11b']) {
        assert.equal((await probeFor('ollama', s.url, { model }).ready(s.url, ctx)).outcome, 'model_missing', model);
      }
    });
    assert.ok(sameOllamaModel('a:latest', 'a') && sameOllamaModel('a', 'a:latest') && !sameOllamaModel('a:1b', 'a'));
  });
  test('deep is /api/generate with num_predict 1, temperature 0, no streaming, and the image for vision', async () => {
    await withServer({ 'GET /api/tags': { json: tags }, 'POST /api/generate': { json: { model: 'llama3.2-vision:latest', response: 'OK', done: true, done_reason: 'length' } } }, async (s) => {
      assert.equal((await probeFor('ollama', s.url, { model: 'llama3.2-vision' }).deep!(s.url, deepCtx(true))).outcome, 'ok');
      const body = s.seen.at(-1)!.body;
      assert.equal(body.model, 'llama3.2-vision');
      assert.equal(body.stream, false);
      assert.deepEqual(body.options, { num_predict: 1, temperature: 0 });
      assertValidPngBytes(Buffer.from(body.images[0], 'base64'));
      assert.equal((await probeFor('ollama', s.url).deep!(s.url, deepCtx())).outcome, 'ok');
      assert.equal(s.seen.at(-1)!.body.model, 'llama3.2-vision:latest', 'no configured model: the first pulled');
      assert.equal(s.seen.at(-1)!.body.images, undefined);
    });
  });
  test('deep: 404 model not found is model_missing; 503 server busy is busy', async () => {
    let reply: Reply = { status: 404, json: { error: "model 'x' not found" } };
    await withServer({ 'POST /api/generate': () => reply }, async (s) => {
      assert.equal((await probeFor('ollama', s.url, { model: 'x' }).deep!(s.url, deepCtx())).outcome, 'model_missing');
      reply = { status: 503, json: { error: 'server busy, please try again.  maximum pending requests exceeded' } };
      assert.equal((await probeFor('ollama', s.url, { model: 'x' }).deep!(s.url, deepCtx())).outcome, 'busy');
    });
  });
});

describe('sglang', () => {
  test('503 on /health while starting is loading', async () => {
    let reply: Reply = { status: 503, text: '' };
    await withServer({ 'GET /health': () => reply, 'GET /v1/models': { json: models('default') } }, async (s) => {
      assert.equal((await probeFor('sglang', s.url).alive(s.url, ctx)).outcome, 'loading');
      reply = { text: '' };
      assert.equal((await probeFor('sglang', s.url).alive(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('sglang', s.url).ready(s.url, ctx)).outcome, 'ok');
    });
  });
  test('deep is /health_generate; vision uses a chat completion with the image', async () => {
    let generate: Reply = { text: '' };
    await withServer({ 'GET /health_generate': () => generate, 'GET /v1/models': { json: models('default') }, 'POST /v1/chat/completions': { json: completion } }, async (s) => {
      const probe = probeFor('sglang', s.url);
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'ok');
      assert.equal(s.seen.at(-1)!.path, '/health_generate');
      generate = { status: 503, text: '' };
      assert.equal((await probe.deep!(s.url, deepCtx())).outcome, 'http_error');
      assert.equal((await probe.deep!(s.url, deepCtx(true))).outcome, 'ok');
      assert.equal(s.seen.at(-1)!.path, '/v1/chat/completions');
      assertValidPng(s.seen.at(-1)!.body.messages[0].content[1].image_url.url);
    });
  });
});

describe('openai', () => {
  test('alive is /v1/models; ready lists the model; deep is a chat completion', async () => {
    await withServer({ 'GET /v1/models': { json: models('gpt-oss-20b') }, 'POST /v1/chat/completions': { json: completion } }, async (s) => {
      assert.equal((await probeFor('openai', s.url).alive(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('openai', s.url, { model: 'gpt-oss-20b' }).ready(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('openai', s.url, { model: 'other' }).ready(s.url, ctx)).outcome, 'model_missing');
      assert.equal((await probeFor('openai', s.url, { model: 'gpt-oss-20b' }).deep!(s.url, deepCtx())).outcome, 'ok');
    });
  });
  test('503 "The model is loading" is loading', async () => {
    await withServer({ 'GET /v1/models': { status: 503, json: { error: { message: 'The model is loading. Please retry in a moment.', type: 'server_error' } } } }, async (s) => {
      assert.equal((await probeFor('openai', s.url).alive(s.url, ctx)).outcome, 'loading');
    });
  });
});

describe('http', () => {
  test('path, expected status and body substring', async () => {
    await withServer({ 'GET /health': { text: 'OK' }, 'GET /ping': { status: 204 }, 'GET /status': { json: { state: 'degraded' } } }, async (s) => {
      assert.equal((await probeFor('http', s.url).alive(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('http', s.url, { path: '/ping', expectStatus: 204 }).alive(s.url, ctx)).outcome, 'ok');
      const wrong = await probeFor('http', s.url, { path: '/ping' }).alive(s.url, ctx);
      assert.equal(wrong.outcome, 'http_error');
      assert.match(wrong.detail, /HTTP 204, expected 200/);
      assert.equal((await probeFor('http', s.url, { path: '/status', expectBody: '"state":"ok"' }).alive(s.url, ctx)).outcome, 'bad_response');
      assert.equal((await probeFor('http', s.url, { path: '/status', expectBody: 'degraded' }).ready(s.url, ctx)).outcome, 'ok');
      assert.equal((await probeFor('http', s.url, { path: '/missing' }).alive(s.url, ctx)).outcome, 'http_error');
    });
  });
});

describe('tcp', () => {
  test('connect is ok; a closed port is refused; a bad URL is an error', async () => {
    const server = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const probe = probeFor('tcp', url);
    assert.equal((await probe.alive(url, ctx)).outcome, 'ok');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal((await probe.alive(url, ctx)).outcome, 'refused');
    assert.equal((await probe.alive('tcp://127.0.0.1', ctx)).outcome, 'error');
  });
});
