/**
 * What the emulated TGI and SGLang show during a long generation, and how the engines refuse
 * images on a text-only model — each as its source says (docs/probing.md): TGI counts every
 * batch step (tgi_batch_inference_success) and SGLang's scheduler its realtime tokens while
 * the request-end counters stand still.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { parsePrometheusText } from '../../../agent/probes/prometheus.js';
import { startEmulator, type Emulator, type EmulatorKind } from '../../../demo/emulator/index.js';

const running: Emulator[] = [];
const clients: AbortController[] = [];
after(async () => {
  for (const ac of clients) ac.abort();
  await Promise.all(running.map((e) => e.close()));
});

async function start(kind: EmulatorKind, vision = true): Promise<Emulator> {
  const emu = await startEmulator({ kind, port: 0, tokensPerSecond: 2000, vision, metrics: kind === 'tgi' || kind === 'sglang' });
  running.push(emu);
  return emu;
}

async function metrics(emu: Emulator): Promise<Map<string, number>> {
  const text = await (await fetch(`${emu.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text)) {
    const key = s.labels.method ? `${s.name}{${s.labels.method}}` : s.labels.mode ? `${s.name}{${s.labels.mode}}` : s.name;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

function longChat(emu: Emulator, model: string): void {
  const ac = new AbortController();
  clients.push(ac);
  fetch(`${emu.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 100_000, ignore_eos: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] }),
    signal: ac.signal,
  }).catch(() => undefined);
}

async function twoReads(emu: Emulator): Promise<[Map<string, number>, Map<string, number>]> {
  await delay(300);
  const first = await metrics(emu);
  await delay(300);
  return [first, await metrics(emu)];
}

test('TGI: tgi_batch_inference_success{decode} moves every step, tgi_request_success only at the end', async () => {
  const emu = await start('tgi');
  longChat(emu, 'tgi');
  const [a, b] = await twoReads(emu);
  assert.ok(b.get('tgi_batch_inference_success{decode}')! > a.get('tgi_batch_inference_success{decode}')!, 'decode steps counted as they run');
  assert.equal(b.get('tgi_request_success'), a.get('tgi_request_success'));
  assert.equal(b.get('tgi_batch_current_size'), 1);
});

test('SGLang: realtime_tokens_total{decode} moves as it decodes, generation_tokens_total only at the end', async () => {
  const emu = await start('sglang');
  longChat(emu, 'Qwen/Qwen2.5-VL-7B-Instruct');
  const [a, b] = await twoReads(emu);
  assert.ok(b.get('sglang:realtime_tokens_total{decode}')! > a.get('sglang:realtime_tokens_total{decode}')!);
  assert.equal(b.get('sglang:generation_tokens_total'), a.get('sglang:generation_tokens_total'));
  assert.equal(b.get('sglang:num_running_reqs'), 1);
});

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

test('a text-only model refuses an image the way each engine does', async () => {
  const expect: [EmulatorKind, number, RegExp][] = [
    ['llamacpp', 500, /image input is not supported - hint: if this is unexpected, you may need to provide the mmproj/],
    ['vllm', 400, /is not a multimodal model/],
    ['sglang', 400, /Model only supports text input; received unsupported content type 'image_url'/],
    ['tgi', 200, /"choices"/],
  ];
  for (const [kind, status, body] of expect) {
    const emu = await start(kind, false);
    const res = await fetch(`${emu.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: kind === 'tgi' ? 'tgi' : undefined, max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG } }] }] }),
    });
    assert.equal(res.status, status, kind);
    assert.match(await res.text(), body, kind);
  }
  const ollama = await start('ollama', false);
  const res = await fetch(`${ollama.url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2-vision', prompt: 'What is this?', images: [PNG.slice(PNG.indexOf(',') + 1)], stream: false }),
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /Multimodal data provided, but model does not support multimodal requests\./);
});
