/**
 * The emulated llama.cpp against what a real llama-server b10472 (stories260K.gguf, -np 4,
 * --metrics) was seen to do: slots and a deferred queue, a decode loop whose n_decode_total
 * moves while tokens_predicted_total waits for the end of each request, long generations
 * with ignore_eos, cancellation, the text-only refusal of images, the metric names and
 * types, nlohmann/json's parse errors, /props and /slots, and the startup timeline.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../demo/emulator/index.js';
import { nlohmannParseError } from '../../../demo/emulator/nlohmann-json.js';
import { ostreamDouble } from '../../../demo/emulator/prom.js';

const PNG_URI = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const running: Emulator[] = [];
const clients: AbortController[] = [];
after(async () => {
  for (const ac of clients) ac.abort();
  await Promise.all(running.map((e) => e.close()));
});

async function start(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emu = await startEmulator({ kind: 'llamacpp', host: '127.0.0.1', port: 0, metrics: true, ...options });
  running.push(emu);
  return emu;
}

function get(emu: Emulator, path: string): Promise<Response> {
  return fetch(`${emu.url}${path}`, { signal: AbortSignal.timeout(3000) });
}

function post(emu: Emulator, path: string, body: unknown, signal: AbortSignal = AbortSignal.timeout(5000)): Promise<Response> {
  return fetch(`${emu.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/** A generation that runs until the test lets go of it. */
function longGeneration(emu: Emulator, body: Record<string, unknown> = {}): { ac: AbortController; done: Promise<Response | 'aborted'> } {
  const ac = new AbortController();
  clients.push(ac);
  const done = post(emu, '/completion', { prompt: 'Once upon a time', n_predict: 10_000_000, ignore_eos: true, ...body }, ac.signal).catch(() => 'aborted' as const);
  return { ac, done };
}

async function metrics(emu: Emulator): Promise<Record<string, number>> {
  const text = await (await get(emu, '/metrics')).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^llamacpp:(\w+) (\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await delay(10);
  }
}

describe('llama.cpp slots', () => {
  test('requests beyond the slots are deferred, never refused; /health stays 200; only /slots?fail_on_no_slot=1 is 503', async () => {
    const emu = await start({ tokensPerSecond: 500 });
    const gens = Array.from({ length: 6 }, () => longGeneration(emu));
    const m = await until('4 processing, 2 deferred', () => metrics(emu), (v) => v['requests_processing'] === 4 && v['requests_deferred'] === 2);
    // b10472 mid-generation: tokens_predicted_total 0 while n_decode_total 674, n_busy_slots_per_decode 4
    assert.equal(m['tokens_predicted_total'], 0);
    const m2 = await until('100 more decodes', () => metrics(emu), (v) => v['n_decode_total']! >= m['n_decode_total']! + 100);
    // the gauge is a running average; over these decodes every slot was busy in each
    const busyPerDecode = (m2['n_busy_slots_per_decode']! * m2['n_decode_total']! - m['n_busy_slots_per_decode']! * m['n_decode_total']!) / (m2['n_decode_total']! - m['n_decode_total']!);
    assert.ok(Math.abs(busyPerDecode - 4) < 0.05, String(busyPerDecode));
    assert.equal(m2['tokens_predicted_total'], 0);
    const health = await get(emu, '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.equal((await get(emu, '/health?fail_on_no_slot=1')).status, 200);
    const noSlot = await get(emu, '/slots?fail_on_no_slot=1');
    assert.equal(noSlot.status, 503);
    assert.deepEqual(await noSlot.json(), { error: { code: 503, message: 'no slot available', type: 'unavailable_error' } });
    const slots = (await (await get(emu, '/slots')).json()) as any[];
    assert.deepEqual(slots.map((s) => s.is_processing), [true, true, true, true]);
    for (const slot of slots) {
      assert.deepEqual(Object.keys(slot), ['id', 'n_ctx', 'speculative', 'is_processing', 'id_task', 'n_prompt_tokens', 'n_prompt_tokens_processed', 'n_prompt_tokens_cache', 'params', 'next_token']);
      assert.ok(slot.next_token[0].n_decoded > 0);
      assert.equal(slot.next_token[0].has_next_token, true);
    }
    // two clients go: the deferred pair takes their slots
    gens[0]!.ac.abort();
    gens[1]!.ac.abort();
    await until('the deferred requests admitted', () => metrics(emu), (v) => v['requests_processing'] === 4 && v['requests_deferred'] === 0);
    for (const g of gens) g.ac.abort();
    await until('all slots free', () => metrics(emu), (v) => v['requests_processing'] === 0 && v['requests_deferred'] === 0);
    const idle = (await (await get(emu, '/slots')).json()) as any[];
    assert.deepEqual(Object.keys(idle[0]), ['id', 'n_ctx', 'speculative', 'is_processing', 'params']);
    assert.equal((await get(emu, '/slots?fail_on_no_slot=1')).status, 200);
  });

  test('deferred requests are served first in, first out', async () => {
    const emu = await start({ slots: 1, tokensPerSecond: 2000 });
    const order: string[] = [];
    const first = post(emu, '/completion', { prompt: 'a', n_predict: 200, ignore_eos: true }).then(() => order.push('first'));
    await until('first running', () => metrics(emu), (v) => v['requests_processing'] === 1);
    const second = post(emu, '/completion', { prompt: 'b', n_predict: 5, ignore_eos: true }).then(() => order.push('second'));
    await until('second deferred', () => metrics(emu), (v) => v['requests_deferred'] === 1);
    const third = post(emu, '/completion', { prompt: 'c', n_predict: 5, ignore_eos: true }).then(() => order.push('third'));
    await until('third deferred', () => metrics(emu), (v) => v['requests_deferred'] === 2);
    await Promise.all([first, second, third]);
    assert.deepEqual(order, ['first', 'second', 'third']);
    assert.equal(((await (await get(emu, '/props')).json()) as any).total_slots, 1);
  });
});

describe('llama.cpp decode loop', () => {
  test('n_decode_total moves during a long generation; tokens_predicted_total only when it ends', async () => {
    const emu = await start({ tokensPerSecond: 2000 });
    const res = post(emu, '/completion', { prompt: 'Once upon a time', n_predict: 1000, ignore_eos: true });
    const during = await until('decoding under way', () => metrics(emu), (v) => v['n_decode_total']! > 0);
    assert.ok(during['n_decode_total']! < 1000, `still going: ${during['n_decode_total']}`);
    assert.equal(during['tokens_predicted_total'], 0);
    assert.equal(during['tokens_predicted_seconds_total'], 0);
    assert.equal(during['requests_processing'], 1);
    assert.ok(during['prompt_tokens_total']! > 0, 'the prompt counts once evaluated');
    const later = await until('more decodes', () => metrics(emu), (v) => v['n_decode_total']! > during['n_decode_total']!);
    assert.equal(later['tokens_predicted_total'], 0);
    const body = (await (await res).json()) as any;
    assert.equal(body.tokens_predicted, 1000);
    assert.equal(body.stop_type, 'limit');
    const end = await metrics(emu);
    // b10472: a lone 10-token completion moved n_decode_total by exactly 10
    assert.equal(end['n_decode_total'], 1000);
    assert.equal(end['tokens_predicted_total'], 1000);
    assert.ok(Math.abs(end['tokens_predicted_seconds_total']! - 0.5) < 1e-9, String(end['tokens_predicted_seconds_total']));
    assert.equal(end['predicted_tokens_seconds'], 2000);
    assert.equal(end['n_busy_slots_per_decode'], 1);
    assert.equal(end['n_tokens_max'], body.tokens_evaluated + 1000 - 1);
    assert.equal(end['requests_processing'], 0);
  });

  test('one decode step serves every busy slot', async () => {
    const emu = await start({ tokensPerSecond: 1000 });
    const bodies = await Promise.all(Array.from({ length: 4 }, () => post(emu, '/completion', { prompt: 'x', n_predict: 200, ignore_eos: true }).then((r) => r.json() as Promise<any>)));
    assert.deepEqual(new Set(bodies.map((b) => b.id_slot)), new Set([0, 1, 2, 3]));
    const m = await metrics(emu);
    assert.equal(m['tokens_predicted_total'], 800);
    assert.ok(m['n_decode_total']! < 400, `batched: ${m['n_decode_total']} decodes for 4 x 200 tokens`);
    assert.ok(m['n_busy_slots_per_decode']! > 2, String(m['n_busy_slots_per_decode']));
  });

  test('short replies still complete at once', async () => {
    const emu = await start();
    const started = Date.now();
    const probe = await post(emu, '/v1/chat/completions', { max_tokens: 1, messages: [{ role: 'user', content: 'Say OK.' }] });
    assert.equal(((await probe.json()) as any).usage.completion_tokens, 1);
    const natural = (await (await post(emu, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }] })).json()) as any;
    assert.equal(natural.choices[0].finish_reason, 'stop');
    assert.ok(Date.now() - started < 500, `${Date.now() - started} ms`);
  });
});

describe('llama.cpp long generations', () => {
  test('ignore_eos gives exactly n_predict / max_tokens tokens; without it the natural reply', async () => {
    const emu = await start({ tokensPerSecond: 5000 });
    const completion = (await (await post(emu, '/completion', { prompt: 'Once upon a time', n_predict: 300, ignore_eos: true })).json()) as any;
    assert.equal(completion.tokens_predicted, 300);
    assert.equal(completion.content.split(' ').length, 300);
    assert.equal(completion.stop_type, 'limit');
    assert.equal(completion.generation_settings.ignore_eos, true);
    // b10472: {"max_tokens":300,"ignore_eos":true} on /v1/chat/completions -> 300 completion tokens, "length"
    const chat = (await (await post(emu, '/v1/chat/completions', { max_tokens: 300, ignore_eos: true, messages: [{ role: 'user', content: 'Hi' }] })).json()) as any;
    assert.equal(chat.usage.completion_tokens, 300);
    assert.equal(chat.choices[0].finish_reason, 'length');
    assert.equal(chat.system_fingerprint, 'b10472-d32676d');
    assert.deepEqual(chat.usage.prompt_tokens_details, { cached_tokens: 0 });
    const natural = (await (await post(emu, '/v1/chat/completions', { max_tokens: 300, messages: [{ role: 'user', content: 'Hi' }] })).json()) as any;
    assert.ok(natural.usage.completion_tokens < 300);
    assert.equal(natural.choices[0].finish_reason, 'stop');
    const capped = (await (await post(emu, '/completion', { prompt: 'Hi', n_predict: 3 })).json()) as any;
    assert.equal(capped.tokens_predicted, 3);
    assert.equal(capped.stop_type, 'limit');
  });

  test('a client that disconnects frees its slot, and its tokens are never counted', async () => {
    const emu = await start({ slots: 1, tokensPerSecond: 2000 });
    const gen = longGeneration(emu);
    const busy = await until('decoding', () => metrics(emu), (v) => v['n_decode_total']! > 50);
    assert.equal(busy['requests_processing'], 1);
    gen.ac.abort();
    assert.equal(await gen.done, 'aborted');
    // b10472 logged "stop: cancel task"; requests_processing was 0 right after, tokens_predicted_total unchanged
    const freed = await until('slot freed', () => metrics(emu), (v) => v['requests_processing'] === 0);
    assert.equal(freed['tokens_predicted_total'], 0);
    await delay(50);
    assert.equal((await metrics(emu))['n_decode_total'], freed['n_decode_total'], 'nothing decodes once the client left');
    const next = (await (await post(emu, '/completion', { prompt: 'Hi', n_predict: 2 })).json()) as any;
    assert.equal(next.tokens_predicted, 2);
  });
});

describe('llama.cpp modes and the decode loop', () => {
  test('stall freezes every counter, n_decode_total too; back to ok, the generation resumes', async () => {
    const emu = await start({ tokensPerSecond: 2000 });
    const res = post(emu, '/completion', { prompt: 'x', n_predict: 2000, ignore_eos: true });
    await until('decoding', () => metrics(emu), (v) => v['n_decode_total']! > 0);
    emu.setMode('stall');
    const before = await metrics(emu);
    await delay(150);
    const after = await metrics(emu);
    for (const name of ['n_decode_total', 'tokens_predicted_total', 'prompt_tokens_total']) assert.equal(after[name], before[name], name);
    assert.equal(after['requests_processing'], 4, 'stall shows the slots taken');
    assert.ok(after['requests_deferred']! > 0);
    emu.setMode('ok');
    assert.equal(((await (await res).json()) as any).tokens_predicted, 2000);
  });

  test('busy moves n_decode_total every tick and tokens_predicted_total as requests finish', async () => {
    const emu = await start({ mode: 'busy' });
    const first = await metrics(emu);
    const second = await until('a busy tick', () => metrics(emu), (v) => v['n_decode_total']! > first['n_decode_total']!);
    await until('a finished request', () => metrics(emu), (v) => v['tokens_predicted_total']! > first['tokens_predicted_total']!);
    assert.equal(second['requests_processing'], 4);
    assert.ok(second['requests_deferred']! > 0);
  });

  test('gen_hang: a generation holds its slot and nothing decodes', async () => {
    const emu = await start({ mode: 'gen_hang' });
    const gen = longGeneration(emu, { n_predict: 5 });
    const held = await until('held', () => metrics(emu), (v) => v['requests_processing']! >= 1);
    await delay(100);
    const still = await metrics(emu);
    assert.equal(still['n_decode_total'], held['n_decode_total']);
    assert.equal(still['tokens_predicted_total'], 0);
    gen.ac.abort();
  });
});

describe('llama.cpp without a multimodal projector', () => {
  test('vision off: an image is a 500 and /props lists no modality', async () => {
    const emu = await start({ vision: false });
    const res = await post(emu, '/v1/chat/completions', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG_URI } }] }] });
    assert.equal(res.status, 500);
    // verbatim from b10472 with stories260K.gguf
    assert.equal(await res.text(), '{"error":{"code":500,"message":"image input is not supported - hint: if this is unexpected, you may need to provide the mmproj","type":"server_error"}}');
    const props = (await (await get(emu, '/props')).json()) as any;
    assert.deepEqual(props.modalities, { vision: false, video: false, audio: false });
    const models = (await (await get(emu, '/v1/models')).json()) as any;
    assert.deepEqual(models.models[0].capabilities, ['completion']);
    const text = await post(emu, '/v1/chat/completions', { max_tokens: 1, messages: [{ role: 'user', content: 'Say OK.' }] });
    assert.equal(text.status, 200);
  });

  test('vision on (the default): images are answered and /props says vision only', async () => {
    const emu = await start();
    const res = await post(emu, '/v1/chat/completions', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PNG_URI } }] }] });
    assert.equal(res.status, 200);
    assert.deepEqual(((await (await get(emu, '/props')).json()) as any).modalities, { vision: true, video: false, audio: false });
  });
});

/** HELP and TYPE lines of b10472's /metrics, in its order. */
const B10472_METRICS: Array<[string, 'counter' | 'gauge', string]> = [
  ['prompt_tokens_total', 'counter', 'Number of prompt tokens processed.'],
  ['prompt_seconds_total', 'counter', 'Prompt process time'],
  ['tokens_predicted_total', 'counter', 'Number of generation tokens processed.'],
  ['tokens_predicted_seconds_total', 'counter', 'Predict process time'],
  ['n_decode_total', 'counter', 'Total number of llama_decode() calls'],
  ['n_tokens_max', 'counter', 'Largest observed n_tokens.'],
  ['spec_decode_num_draft_tokens_total', 'counter', 'Total draft tokens generated'],
  ['spec_decode_num_accepted_tokens_total', 'counter', 'Total draft tokens accepted by the target model'],
  ['spec_decode_num_drafts_total', 'counter', 'Total speculative decoding verification steps'],
  ['prompt_tokens_seconds', 'gauge', 'Average prompt throughput in tokens/s.'],
  ['predicted_tokens_seconds', 'gauge', 'Average generation throughput in tokens/s.'],
  ['requests_processing', 'gauge', 'Number of requests processing.'],
  ['requests_deferred', 'gauge', 'Number of requests deferred.'],
  ['n_busy_slots_per_decode', 'gauge', 'Average number of busy slots per llama_decode() call'],
];

describe('llama.cpp /metrics', () => {
  test('the names, types, help texts and order of b10472; no kv_cache metrics', async () => {
    const emu = await start();
    const text = await (await get(emu, '/metrics')).text();
    const expected = B10472_METRICS.flatMap(([name, type, help]) => [`# HELP llamacpp:${name} ${help}`, `# TYPE llamacpp:${name} ${type}`, `llamacpp:${name} 0`]);
    assert.deepEqual(text.trimEnd().split('\n'), expected);
    assert.doesNotMatch(text, /kv_cache/);
  });

  test('numbers as a C++ ostream prints them: six significant digits', () => {
    // seen on b10472: 4666.67, 688.974, 3.93949, 2.9995, 0.004, 120000
    assert.equal(ostreamDouble(28 / 0.006), '4666.67');
    assert.equal(ostreamDouble(120000 / 174.172), '688.974');
    assert.equal(ostreamDouble(3.939494), '3.93949');
    assert.equal(ostreamDouble(120010 / 40010), '2.9995');
    assert.equal(ostreamDouble(0.004), '0.004');
    assert.equal(ostreamDouble(120000), '120000');
    assert.equal(ostreamDouble(1_220_000), '1.22e+06');
    assert.equal(ostreamDouble(1 / 0), 'inf');
  });
});

/** Bodies that are not JSON and b10472's answer to each (all 500, type server_error). */
const B10472_PARSE_ERRORS: Array<[string, string]> = [
  ['{bad', "parse error at line 1, column 2: syntax error while parsing object key - invalid literal; last read: '{b'; expected string literal"],
  ['{"messages": [', "parse error at line 1, column 15: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"],
  ['not json', "parse error at line 1, column 2: syntax error while parsing value - invalid literal; last read: 'no'"],
  ['', 'parse error at line 1, column 1: attempting to parse an empty input; check that your input string or stream contains the expected JSON'],
  ['  ', "parse error at line 1, column 3: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"],
  ['{"a":1,}', "parse error at line 1, column 8: syntax error while parsing object key - unexpected '}'; expected string literal"],
  ['[1,2', "parse error at line 1, column 5: syntax error while parsing array - unexpected end of input; expected ']'"],
  ['{"a" 1}', "parse error at line 1, column 6: syntax error while parsing object separator - unexpected number literal; expected ':'"],
  ['{"a":-}', "parse error at line 1, column 7: syntax error while parsing value - invalid number; expected digit after '-'; last read: '-}'"],
  ['{"a":1.}', "parse error at line 1, column 8: syntax error while parsing value - invalid number; expected digit after '.'; last read: '1.}'"],
  ['{"a":"x\ny"}', "parse error at line 2, column 0: syntax error while parsing value - invalid string: control character U+000A (LF) must be escaped to \\u000A or \\n; last read: '\"x<U+000A>'"],
  ['{} x', "parse error at line 1, column 4: syntax error while parsing value - invalid literal; last read: '{} x'; expected end of input"],
  ['{"a":tru}', "parse error at line 1, column 9: syntax error while parsing value - invalid literal; last read: '\"a\":tru}'"],
  ['"x', "parse error at line 1, column 3: syntax error while parsing value - invalid string: missing closing quote; last read: '\"x'"],
  ['\n{\n  bad', "parse error at line 3, column 3: syntax error while parsing object key - invalid literal; last read: '<U+000A>{<U+000A>  b'; expected string literal"],
];

describe('llama.cpp bad JSON', () => {
  test('a body that is not JSON is a 500 with nlohmann/json\'s message', async () => {
    const emu = await start();
    const res = await post(emu, '/completion', '{bad');
    assert.equal(res.status, 500);
    const message = `[json.exception.parse_error.101] ${B10472_PARSE_ERRORS[0]![1]}`;
    assert.equal(await res.text(), JSON.stringify({ error: { code: 500, message, type: 'server_error' } }));
    for (const path of ['/v1/chat/completions', '/completion']) {
      const empty = (await (await post(emu, path, '')).json()) as any;
      assert.deepEqual(empty.error.code, 500);
      assert.match(empty.error.message, /^\[json\.exception\.parse_error\.101\] parse error at line 1, column 1: attempting to parse an empty input/);
    }
  });

  test('the parse error messages match b10472 body for body', () => {
    for (const [body, message] of B10472_PARSE_ERRORS) assert.equal(nlohmannParseError(Buffer.from(body)), `[json.exception.parse_error.101] ${message}`, JSON.stringify(body));
    assert.equal(nlohmannParseError(Buffer.from('{"a":[1,{"b":null}],"c":-1.5e3}')), undefined);
  });
});

describe('llama.cpp /props and /slots', () => {
  test('the fields of b10472', async () => {
    const emu = await start({ slots: 3 });
    const props = (await (await get(emu, '/props')).json()) as any;
    assert.equal(props.build_info, 'b10472-d32676d');
    assert.equal(props.total_slots, 3);
    assert.deepEqual(Object.keys(props.default_generation_settings), ['params', 'n_ctx']);
    assert.equal(typeof props.default_generation_settings.n_ctx, 'number');
    assert.equal(props.model_path, '/models/llama-3.2-11b-vision.gguf');
    assert.equal(props.model_alias, 'llama-3.2-11b-vision');
    assert.equal(props.endpoint_metrics, true);
    assert.equal(props.endpoint_slots, true);
    assert.equal(props.is_sleeping, false);
    const slots = (await (await get(emu, '/slots')).json()) as any[];
    assert.equal(slots.length, 3);
    assert.ok(slots.every((s) => s.n_ctx === props.default_generation_settings.n_ctx && s.is_processing === false));
    const gen = longGeneration(emu);
    const busy = await until('one busy slot', async () => ((await (await get(emu, '/slots')).json()) as any[]).filter((s) => s.is_processing), (list) => list.length === 1);
    assert.equal(busy[0].n_prompt_tokens, busy[0].n_prompt_tokens_processed);
    gen.ac.abort();
  });
});

describe('llama.cpp startup', () => {
  test('with a load time: refused until it binds, then 503 "Loading model" on every endpoint, then ok', async () => {
    const began = Date.now();
    const emu = await start({ loadTimeMs: 500, bindDelayMs: 150 });
    assert.equal(emu.listening, false);
    const bound = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('never bound')), 3000);
      emu.on('listening', () => {
        clearTimeout(timer);
        resolve(Date.now());
      });
    });
    await assert.rejects(get(emu, '/health'), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
    const boundAt = await bound;
    assert.ok(boundAt - began >= 140, `bound after ${boundAt - began} ms`);
    for (const path of ['/health', '/props', '/v1/models', '/slots', '/metrics']) {
      const res = await get(emu, path);
      assert.equal(res.status, 503, path);
      // b10472 lists this body's fields in another order than its other errors
      assert.equal(await res.text(), '{"error":{"message":"Loading model","type":"unavailable_error","code":503}}', path);
    }
    await until('loaded', async () => (await get(emu, '/health')).status, (status) => status === 200);
    assert.ok(Date.now() - began >= 450);
  });

  test('without a load time it listens at once', async () => {
    const emu = await start();
    assert.equal(emu.listening, true);
    assert.equal((await get(emu, '/health')).status, 200);
  });
});
