import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODELS, startEmulator, type EmulatorKind, type EmulatorMode } from '../../../demo/emulator/index.js';
import { createProbeDispatcher } from '../../../agent/probes/http-client.js';
import { createProbe } from '../../../agent/probes/registry.js';
import { createRoundState, runRound } from '../../../agent/probes/round.js';
import type { ProbeOutcome } from '../../../agent/probes/types.js';
import { SystemClock } from '../../../shared/clock.js';
import type { ServiceConfig } from '../../../shared/config/agent-config.js';

/**
 * The probes against the shared LLM server emulator (demo/emulator): one test per kind,
 * switching the emulator through its failure modes and checking the round's verdict.
 */
const dispatcher = createProbeDispatcher();
after(() => dispatcher.destroy());
const clock = new SystemClock();

/** What one round should conclude in each mode; kinds differ exactly where their upstreams do. */
const EXPECT: Record<EmulatorKind, Partial<Record<EmulatorMode, ProbeOutcome>>> = {
  llamacpp: { loading: 'loading', busy: 'ok', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
  // vLLM and TGI keep the port closed while loading
  vllm: { loading: 'refused', busy: 'ok', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
  tgi: { loading: 'refused', busy: 'busy', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
  // Ollama loads on demand: a deep probe waits for the model
  ollama: { busy: 'ok', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
  sglang: { loading: 'loading', busy: 'ok', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
  openai: { loading: 'loading', busy: 'ok', gen_fail: 'http_error', gen_hang: 'timeout', model_missing: 'model_missing', garbage: 'bad_response', huge: 'bad_response' },
};
const HAS_METRICS = new Set<EmulatorKind>(['llamacpp', 'vllm', 'tgi', 'sglang']);

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), 'the emulator reached the state in time');
}

for (const kind of Object.keys(EXPECT) as EmulatorKind[]) {
  test(`${kind} against the emulator`, async () => {
    const emulator = await startEmulator({ kind, port: 0, mode: 'ok', metrics: HAS_METRICS.has(kind) });
    try {
      const service: ServiceConfig = {
        name: kind, kind, url: emulator.url, fallbackUrls: [], labels: {}, model: DEFAULT_MODELS[kind], metrics: 'auto', metricsPath: '/metrics',
        deepProbe: { every: 60_000, timeout: 500, vision: true, prompt: 'Say OK.' },
        interval: 10_000, timeout: 500, retries: 1, retryDelay: 10, startupGrace: 600_000, recoverAfter: 2, stallAfter: 60_000,
      };
      const probe = createProbe(service, { clock, dispatcher });
      const round = () => runRound(service, probe, { clock, state: createRoundState() });

      const healthy = await round();
      assert.equal(healthy.outcome, 'ok', healthy.detail);
      assert.equal(healthy.deep?.outcome, 'ok');
      assert.equal(healthy.deep?.inferred, undefined, 'a real one-token generation');
      assert.equal(emulator.stats().generations, 1);
      assert.equal(healthy.metrics !== undefined, HAS_METRICS.has(kind), 'metrics read where the kind exposes them');

      for (const [mode, expected] of Object.entries(EXPECT[kind]) as [EmulatorMode, ProbeOutcome][]) {
        emulator.setMode(mode);
        // the emulator opens and closes its port asynchronously, like a real server restarting
        await until(() => emulator.listening === (expected !== 'refused'));
        const r = await round();
        assert.equal(r.outcome, expected, `${kind} in mode ${mode}: ${r.detail}`);
      }
    } finally {
      await emulator.close();
    }
  });
}

/** How each engine answers a vision deep probe on a text-only model (docs/probing.md). */
const TEXT_ONLY: Record<EmulatorKind, ProbeOutcome> = {
  llamacpp: 'mismatch',
  vllm: 'mismatch',
  sglang: 'mismatch',
  ollama: 'mismatch',
  // TGI takes the image as prompt text and answers 200: nothing to tell
  tgi: 'ok',
  openai: 'ok',
};

for (const kind of Object.keys(TEXT_ONLY) as EmulatorKind[]) {
  test(`${kind}: a vision deep probe against a text-only model is ${TEXT_ONLY[kind]}`, async () => {
    const emulator = await startEmulator({ kind, port: 0, mode: 'ok', vision: false, metrics: false });
    try {
      const service: ServiceConfig = {
        name: kind, kind, url: emulator.url, fallbackUrls: [], labels: {}, model: DEFAULT_MODELS[kind], metrics: false, metricsPath: '/metrics',
        deepProbe: { every: 60_000, timeout: 2_000, vision: true, prompt: 'Say OK.' },
        interval: 10_000, timeout: 2_000, retries: 3, retryDelay: 10, startupGrace: 600_000, recoverAfter: 2, stallAfter: 60_000,
      };
      const r = await runRound(service, createProbe(service, { clock, dispatcher }), { clock, state: createRoundState() });
      assert.equal(r.outcome, TEXT_ONLY[kind], r.detail);
      if (r.outcome === 'mismatch') {
        assert.equal(r.attempts, 1, 'not retried');
        assert.match(r.detail, /deepProbe\.vision is set but the server does not accept images/);
      }
    } finally {
      await emulator.close();
    }
  });
}
