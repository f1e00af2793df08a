/**
 * What tests need to drive a llama.cpp server, real or emulated: where the real binary and
 * model are, its Prometheus counters, and long generations that keep its slots busy.
 */
import { existsSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { parsePrometheusText } from '../../agent/probes/prometheus.js';

const ROOT = new URL('../../..', import.meta.url).pathname;

export type RealServer = { ok: true; server: string; model: string } | { ok: false; why: string };

/**
 * The real `llama-server` and GGUF model: LLMH_LLAMA_SERVER and LLMH_LLAMA_MODEL, else the
 * copies in ../shared/ beside the checkout (never committed, never downloaded).
 */
export function findLlamaServer(): RealServer {
  const server = process.env.LLMH_LLAMA_SERVER ?? join(ROOT, '..', 'shared', 'realworld', 'llama-server', 'llama-server');
  const model = process.env.LLMH_LLAMA_MODEL ?? join(ROOT, '..', 'shared', 'models', 'stories260K.gguf');
  if (!existsSync(server)) return { ok: false, why: `no real llama-server at ${server} (set LLMH_LLAMA_SERVER to run these tests against one)` };
  if (!existsSync(model)) return { ok: false, why: `no GGUF model at ${model} (set LLMH_LLAMA_MODEL)` };
  return { ok: true, server, model };
}

/** The server's /metrics as name → value (summed over label sets). */
export async function metricsOf(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}: ${text.slice(0, 200)}`);
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text)) out.set(s.name, (out.get(s.name) ?? 0) + s.value);
  return out;
}

export interface Generations {
  /** requests that ended with an error or a non-200 answer before stop() */
  failed(): number;
  /** disconnects every client (the server cancels their tasks) */
  stop(): void;
}

/**
 * `count` concurrent completions of `nPredict` tokens each, on their own connections.
 * `ignore_eos` keeps the model going past its natural end; with `--context-shift` a real
 * server keeps generating past its context.
 */
export function startGenerations(port: number, count: number, nPredict: number): Generations {
  const body = JSON.stringify({ prompt: 'Once upon a time', n_predict: nPredict, ignore_eos: true, temperature: 0 });
  const requests: ClientRequest[] = [];
  let failed = 0;
  let stopped = false;
  for (let i = 0; i < count; i++) {
    const req = request({ host: '127.0.0.1', port, path: '/completion', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200 && !stopped) failed++;
      res.resume();
      res.on('error', () => {
        if (!stopped) failed++;
      });
    });
    req.on('error', () => {
      if (!stopped) failed++;
    });
    req.end(body);
    requests.push(req);
  }
  return {
    failed: () => failed,
    stop() {
      stopped = true;
      for (const req of requests) req.destroy();
    },
  };
}
