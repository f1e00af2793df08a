/**
 * The emulated vLLM under load: many more sequences at once than llama.cpp's four slots, the
 * running and waiting gauges from the real queue, and generation_tokens_total moving with
 * every engine step (V1 records iteration stats per step), not only when requests finish.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../demo/emulator/index.js';

const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
const running: Emulator[] = [];
const clients: AbortController[] = [];
after(async () => {
  for (const ac of clients) ac.abort();
  await Promise.all(running.map((e) => e.close()));
});

async function start(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emu = await startEmulator({ kind: 'vllm', host: '127.0.0.1', port: 0, ...options });
  running.push(emu);
  return emu;
}

function chat(emu: Emulator, maxTokens: number, signal: AbortSignal = AbortSignal.timeout(5000)): Promise<Response> {
  return fetch(`${emu.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: maxTokens, ignore_eos: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] }),
    signal,
  });
}

async function metrics(emu: Emulator): Promise<Record<string, number>> {
  const text = await (await fetch(`${emu.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(vllm:\w+)(?:\{[^}]*\})? (\S+)$/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

async function until(what: string, read: () => Promise<Record<string, number>>, ok: (v: Record<string, number>) => boolean, timeoutMs = 3000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await delay(10);
  }
}

describe('vllm engine steps', () => {
  test('generation_tokens_total moves during a long generation; request_success_total at its end', async () => {
    const emu = await start({ tokensPerSecond: 2000 });
    const res = chat(emu, 1000);
    const during = await until('tokens generated', () => metrics(emu), (v) => v['vllm:generation_tokens_total']! > 0);
    assert.ok(during['vllm:generation_tokens_total']! < 1000);
    assert.equal(during['vllm:num_requests_running'], 1);
    assert.equal(during['vllm:request_success_total'], 0);
    await until('more tokens', () => metrics(emu), (v) => v['vllm:generation_tokens_total']! > during['vllm:generation_tokens_total']!);
    const body = (await (await res).json()) as any;
    assert.equal(body.usage.completion_tokens, 1000);
    assert.equal(body.choices[0].finish_reason, 'length');
    const end = await metrics(emu);
    assert.equal(end['vllm:generation_tokens_total'], 1000);
    assert.equal(end['vllm:request_success_total'], 1);
    assert.equal(end['vllm:num_requests_running'], 0);
  });

  test('far more than four sequences run at once; beyond max_num_seqs they wait', async () => {
    const wide = await start({ tokensPerSecond: 500 });
    const acs = Array.from({ length: 8 }, () => new AbortController());
    clients.push(...acs);
    for (const ac of acs) void chat(wide, 100_000, ac.signal).catch(() => undefined);
    await until('8 running', () => metrics(wide), (v) => v['vllm:num_requests_running'] === 8 && v['vllm:num_requests_waiting'] === 0);
    for (const ac of acs) ac.abort();
    await until('all gone', () => metrics(wide), (v) => v['vllm:num_requests_running'] === 0);

    const narrow = await start({ slots: 2, tokensPerSecond: 500 });
    const more = Array.from({ length: 5 }, () => new AbortController());
    clients.push(...more);
    for (const ac of more) void chat(narrow, 100_000, ac.signal).catch(() => undefined);
    await until('2 running, 3 waiting', () => metrics(narrow), (v) => v['vllm:num_requests_running'] === 2 && v['vllm:num_requests_waiting'] === 3);
    for (const ac of more) ac.abort();
  });
});
