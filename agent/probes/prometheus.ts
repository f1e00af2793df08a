import type { ServiceKind } from '../../shared/config/agent-config.js';
import type { MetricsSample } from './types.js';

/**
 * Just enough of the Prometheus text exposition format to read a handful of counters and
 * gauges: `name{label="v",...} value [timestamp]`. HELP/TYPE/comment lines are skipped, and
 * so is any line that does not parse: a scrape is evidence, never a reason to throw.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): PromSample | undefined {
  const name = NAME_RE.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest);
    if (!parsed) return undefined;
    labels = parsed.labels;
    rest = rest.slice(parsed.length);
  }
  // the value must be separated from name/labels; a timestamp may follow it
  if (!/^[ \t]/.test(rest)) return undefined;
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length < 1 || fields.length > 2) return undefined;
  const value = parseValue(fields[0]!);
  return value === undefined ? undefined : { name, labels, value };
}

function parseLabels(text: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '}') return { labels, length: i + 1 };
    const key = LABEL_NAME_RE.exec(text.slice(i))?.[0];
    if (!key) return undefined;
    i += key.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') return undefined;
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') return undefined;
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    labels[key] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return undefined;
  }
}

function parseValue(token: string): number | undefined {
  switch (token) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(token)) return undefined;
  return Number(token);
}

/**
 * Metric names per engine. Each field sums its groups; a group lists alternative names for
 * the same quantity across versions (first one present wins), so a renamed metric is never
 * counted twice.
 *
 * `progress` must include a counter that moves DURING a generation, not only when a request
 * finishes: a server busy with long generations otherwise looks stalled for minutes and gets
 * restarted under its clients (seen on a real llama-server). Per engine, from its source
 * (docs/probing.md has the table):
 * - llama.cpp `tools/server/server-context.cpp`: `n_decode_total` +1 per llama_decode() call;
 *   `tokens_predicted_total` only when a slot is released (`/metrics` needs `--metrics`).
 * - vLLM `vllm/v1/metrics/loggers.py` (IterationStats): `generation_tokens_total` every engine
 *   step; `gpu_cache_usage_perc` was renamed `kv_cache_usage_perc`.
 * - TGI `backends/v3/src/backend.rs`: `tgi_batch_inference_success{method=prefill|decode}`
 *   after every batch step; `tgi_request_success` at request end (metrics-rs writes counters
 *   without `_total`).
 * - SGLang `srt/metrics/collector.py`: `realtime_tokens_total` from the scheduler as it
 *   decodes; `generation_tokens_total` only at request end (tokenizer manager).
 */
interface FamilyNames {
  running: string[][];
  waiting: string[][];
  progress: string[][];
  kvCacheUsage: string[][];
}

const VLLM: FamilyNames = {
  running: [['vllm:num_requests_running']],
  waiting: [['vllm:num_requests_waiting']],
  progress: [['vllm:generation_tokens_total'], ['vllm:request_success_total']],
  kvCacheUsage: [['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc']],
};
const LLAMACPP: FamilyNames = {
  running: [['llamacpp:requests_processing']],
  waiting: [['llamacpp:requests_deferred']],
  progress: [['llamacpp:n_decode_total'], ['llamacpp:tokens_predicted_total']],
  // gone from recent builds (b10472 has no KV-cache gauge); read where an older build has it
  kvCacheUsage: [['llamacpp:kv_cache_usage_ratio']],
};
const TGI: FamilyNames = {
  running: [['tgi_batch_current_size']],
  waiting: [['tgi_queue_size']],
  progress: [['tgi_batch_inference_success', 'tgi_batch_inference_success_total'], ['tgi_request_success', 'tgi_request_success_total'], ['tgi_request_generated_tokens_sum']],
  kvCacheUsage: [],
};
const SGLANG: FamilyNames = {
  running: [['sglang:num_running_reqs']],
  waiting: [['sglang:num_queue_reqs']],
  progress: [['sglang:realtime_tokens_total'], ['sglang:generation_tokens_total']],
  kvCacheUsage: [['sglang:token_usage']],
};
// an `openai` service may be any of the engines behind it; their names never collide
const ANY: FamilyNames = {
  running: [...VLLM.running, ...LLAMACPP.running, ...TGI.running, ...SGLANG.running],
  waiting: [...VLLM.waiting, ...LLAMACPP.waiting, ...TGI.waiting, ...SGLANG.waiting],
  progress: [...VLLM.progress, ...LLAMACPP.progress, ...TGI.progress, ...SGLANG.progress],
  kvCacheUsage: [...VLLM.kvCacheUsage, ...LLAMACPP.kvCacheUsage, ...SGLANG.kvCacheUsage],
};

export const METRIC_FAMILIES: Partial<Record<ServiceKind, FamilyNames>> = { vllm: VLLM, llamacpp: LLAMACPP, tgi: TGI, sglang: SGLANG, openai: ANY };

/**
 * The MetricsSample for `kind`, summed over label sets (several models, data-parallel
 * engines, finish reasons); undefined when not one of the kind's names is present.
 */
export function extractSample(kind: ServiceKind, samples: PromSample[], at: number): MetricsSample | undefined {
  const family = METRIC_FAMILIES[kind];
  if (!family) return undefined;
  const sums = new Map<string, number>();
  const maxes = new Map<string, number>();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    sums.set(s.name, (sums.get(s.name) ?? 0) + s.value);
    maxes.set(s.name, Math.max(maxes.get(s.name) ?? Number.NEGATIVE_INFINITY, s.value));
  }
  let found = false;
  const field = (groups: string[][], from: Map<string, number>): number | undefined => {
    let total: number | undefined;
    for (const group of groups) {
      const name = group.find((n) => from.has(n));
      if (name === undefined) continue;
      found = true;
      total = (total ?? 0) + from.get(name)!;
    }
    return total;
  };
  const running = field(family.running, sums) ?? 0;
  const waiting = field(family.waiting, sums) ?? 0;
  const progress = field(family.progress, sums) ?? 0;
  // a usage ratio does not add up across engines; the fullest cache is what matters
  const kvCacheUsage = field(family.kvCacheUsage, maxes);
  if (!found) return undefined;
  const sample: MetricsSample = { at, running, waiting, progress };
  if (kvCacheUsage !== undefined) sample.kvCacheUsage = kvCacheUsage;
  return sample;
}
