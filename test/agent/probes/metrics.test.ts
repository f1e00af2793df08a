import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { extractSample, parsePrometheusText } from '../../../agent/probes/prometheus.js';
import { ProgressTracker } from '../../../agent/probes/stall.js';
import type { MetricsSample } from '../../../agent/probes/types.js';

describe('prometheus text parser', () => {
  test('names, labels, values; HELP/TYPE/comments skipped', () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{model_name="qwen",engine="0"} 2.0',
      '# a comment',
      '',
      'process_cpu_seconds_total 12.5 1700000000000',
      'up 1',
    ].join('\n');
    assert.deepEqual(parsePrometheusText(text), [
      { name: 'vllm:num_requests_running', labels: { model_name: 'qwen', engine: '0' }, value: 2 },
      { name: 'process_cpu_seconds_total', labels: {}, value: 12.5 },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });
  test('escaped label values, commas and braces inside quotes, trailing comma, CRLF', () => {
    const text = 'm{a="x,y}",b="say \\"hi\\"",c="back\\\\slash",d="line\\nbreak",} 3\r\nn{ } 4\r\n';
    assert.deepEqual(parsePrometheusText(text), [
      { name: 'm', labels: { a: 'x,y}', b: 'say "hi"', c: 'back\\slash', d: 'line\nbreak' }, value: 3 },
      { name: 'n', labels: {}, value: 4 },
    ]);
  });
  test('special and scientific values', () => {
    const values = parsePrometheusText('a NaN\nb +Inf\nc -Inf\nd 1.5e3\ne -2\nf .5\n').map((s) => s.value);
    assert.ok(Number.isNaN(values[0]));
    assert.deepEqual(values.slice(1), [Infinity, -Infinity, 1500, -2, 0.5]);
  });
  test('garbage lines are skipped, never thrown', () => {
    const text = ['{"not":"prometheus"}', 'm{unterminated="x 1', 'm{a=1} 2', 'm 1 2 3', 'm abc', 'm1', '\u0000\u0001\u00ff', 'ok 7', '9bad 1', 'x{="y"} 1'].join('\n');
    assert.deepEqual(parsePrometheusText(text), [{ name: 'ok', labels: {}, value: 7 }]);
    assert.deepEqual(parsePrometheusText(''), []);
  });
});

describe('per-kind extraction', () => {
  test('vLLM: new kv_cache name preferred, old gpu_cache name accepted, never both counted', () => {
    const old = parsePrometheusText('vllm:gpu_cache_usage_perc{model_name="m"} 0.4\nvllm:num_requests_running{model_name="m"} 1');
    assert.equal(extractSample('vllm', old, 5)?.kvCacheUsage, 0.4);
    const both = parsePrometheusText('vllm:kv_cache_usage_perc{engine="0"} 0.7\nvllm:kv_cache_usage_perc{engine="1"} 0.2\nvllm:gpu_cache_usage_perc 0.9');
    assert.equal(extractSample('vllm', both, 5)?.kvCacheUsage, 0.7, 'the fullest engine, new name only');
  });
  test('llama.cpp', () => {
    const text = [
      '# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.',
      '# TYPE llamacpp:prompt_tokens_total counter',
      'llamacpp:prompt_tokens_total 4096',
      'llamacpp:tokens_predicted_total 812',
      'llamacpp:requests_processing 1',
      'llamacpp:requests_deferred 2',
      'llamacpp:kv_cache_usage_ratio 0.125',
    ].join('\n');
    assert.deepEqual(extractSample('llamacpp', parsePrometheusText(text), 9), { at: 9, running: 1, waiting: 2, progress: 812, kvCacheUsage: 0.125 });
    const current = parsePrometheusText('llamacpp:tokens_predicted_total 812\nllamacpp:n_decode_total 1000\nllamacpp:requests_processing 1\n');
    assert.deepEqual(extractSample('llamacpp', current, 9), { at: 9, running: 1, waiting: 0, progress: 1812 }, 'b10472 has no KV-cache gauge');
  });
  test('SGLang', () => {
    const text = 'sglang:num_running_reqs{model_name="m"} 5\nsglang:num_queue_reqs{model_name="m"} 0\nsglang:generation_tokens_total{model_name="m"} 77\nsglang:token_usage{model_name="m"} 0.3\n';
    assert.deepEqual(extractSample('sglang', parsePrometheusText(text), 1), { at: 1, running: 5, waiting: 0, progress: 77, kvCacheUsage: 0.3 });
  });
  test('TGI counters are read with or without _total', () => {
    const a = extractSample('tgi', parsePrometheusText('tgi_request_success 3\ntgi_request_generated_tokens_sum 10'), 1);
    const b = extractSample('tgi', parsePrometheusText('tgi_request_success_total 3\ntgi_request_generated_tokens_sum 10'), 1);
    assert.equal(a?.progress, 13);
    assert.equal(b?.progress, 13);
  });
  test('no known names: undefined; unknown kinds: undefined; openai reads any engine', () => {
    assert.equal(extractSample('vllm', parsePrometheusText('process_cpu_seconds_total 1'), 1), undefined);
    assert.equal(extractSample('ollama', parsePrometheusText('vllm:num_requests_running 1'), 1), undefined);
    assert.equal(extractSample('openai', parsePrometheusText('llamacpp:requests_processing 2\nllamacpp:tokens_predicted_total 9'), 1)?.progress, 9);
  });
  test('NaN and Inf samples are ignored, not summed into garbage', () => {
    const s = extractSample('vllm', parsePrometheusText('vllm:num_requests_running{e="0"} NaN\nvllm:num_requests_running{e="1"} 2'), 1);
    assert.equal(s?.running, 2);
  });
});

describe('counters that move during a generation', () => {
  // real llama-server b10472, three long completions in flight: tokens_predicted_total moves
  // only when a request finishes, n_decode_total with every decode step
  const scrape = (decodes: number) =>
    extractSample('llamacpp', parsePrometheusText(`llamacpp:tokens_predicted_total 0\nllamacpp:n_decode_total ${decodes}\nllamacpp:requests_processing 3\nllamacpp:requests_deferred 0\nllamacpp:n_busy_slots_per_decode 3\n`), 0)!;
  test('llama.cpp: n_decode_total is progress while tokens_predicted_total stands still', () => {
    const tracker = new ProgressTracker();
    const at = (ms: number, decodes: number) => tracker.observe({ ...scrape(decodes), at: ms });
    at(0, 5_255);
    for (let t = 10_000, d = 5_255; t <= 180_000; t += 10_000) {
      d += 400;
      const seen = at(t, d);
      assert.equal(seen.progressed, true);
      assert.equal(seen.stalledForMs, 0, `no stall at +${t / 1000}s`);
    }
  });
  test('TGI batch steps and SGLang realtime tokens count as progress', () => {
    const tgi = extractSample('tgi', parsePrometheusText('tgi_batch_inference_success{method="prefill"} 2\ntgi_batch_inference_success{method="decode"} 900\ntgi_request_success 1\n'), 1);
    assert.equal(tgi?.progress, 903);
    const sglang = extractSample('sglang', parsePrometheusText('sglang:realtime_tokens_total{mode="decode"} 500\nsglang:realtime_tokens_total{mode="prefill_compute"} 20\nsglang:num_running_reqs 1\n'), 1);
    assert.equal(sglang?.progress, 520);
  });
});

describe('ProgressTracker', () => {
  const at = (t: number, running: number, waiting: number, progress: number): MetricsSample => ({ at: t, running, waiting, progress });

  test('moving counters are progress', () => {
    const t = new ProgressTracker();
    assert.deepEqual(t.observe(at(0, 2, 0, 100)), { progressed: false, queued: true, stalledForMs: 0 });
    assert.deepEqual(t.observe(at(10, 2, 3, 150)), { progressed: true, queued: true, stalledForMs: 0 });
  });
  test('queued work with standing counters stalls from the first such sample', () => {
    const t = new ProgressTracker();
    t.observe(at(0, 1, 0, 100));
    assert.equal(t.observe(at(10_000, 1, 0, 100)).stalledForMs, 0);
    assert.equal(t.observe(at(20_000, 1, 2, 100)).stalledForMs, 10_000);
    assert.deepEqual(t.observe(at(70_000, 0, 4, 100)), { progressed: false, queued: true, stalledForMs: 60_000 });
    assert.deepEqual(t.observe(at(80_000, 1, 4, 101)), { progressed: true, queued: true, stalledForMs: 0 }, 'progress resets');
  });
  test('idle (nothing queued) is not a stall', () => {
    const t = new ProgressTracker();
    t.observe(at(0, 0, 0, 5));
    assert.deepEqual(t.observe(at(10, 0, 0, 5)), { progressed: false, queued: false, stalledForMs: 0 });
    t.observe(at(20, 1, 0, 5));
    t.observe(at(30, 1, 0, 5));
    assert.equal(t.observe(at(40, 0, 0, 5)).stalledForMs, 0);
    assert.equal(t.observe(at(50, 1, 0, 5)).stalledForMs, 0, 'a new stall starts over');
  });
  test('a counter going down (server restarted) resets instead of counting as progress', () => {
    const t = new ProgressTracker();
    t.observe(at(0, 1, 0, 1000));
    t.observe(at(10, 1, 0, 1000));
    assert.equal(t.observe(at(20, 1, 0, 1000)).stalledForMs, 10);
    assert.deepEqual(t.observe(at(30, 1, 0, 3)), { progressed: false, queued: true, stalledForMs: 0 });
    assert.equal(t.observe(at(40, 1, 0, 3)).stalledForMs, 0);
    assert.equal(t.observe(at(50, 1, 0, 3)).stalledForMs, 10);
  });
});
