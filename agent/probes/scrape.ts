import type { ServiceKind } from '../../shared/config/agent-config.js';
import { snippet, type HttpClient } from './http-client.js';
import { extractSample, parsePrometheusText } from './prometheus.js';
import type { MetricsRead, ProbeContext } from './types.js';

/**
 * vLLM's exposition (a dozen histograms per model, per data-parallel engine) outgrows the
 * 256 KiB cap meant for JSON answers; this is still a hard bound.
 */
export const METRICS_MAX_BYTES = 2 * 1024 * 1024;

// 404: no such route; 501: llama.cpp started without --metrics ("not_supported_error")
const ABSENT_STATUSES = new Set([404, 501]);

export async function scrapeMetrics(http: HttpClient, kind: ServiceKind, baseUrl: string, path: string, ctx: ProbeContext, now: () => number): Promise<MetricsRead> {
  const reply = await http.request({ url: baseUrl + path, timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxBodyBytes: METRICS_MAX_BYTES });
  if (!reply.ok) return { status: 'failed', detail: `${path}: ${reply.detail}` };
  if (ABSENT_STATUSES.has(reply.status)) return { status: 'absent', detail: `${path}: HTTP ${reply.status} (metrics not exposed)` };
  if (reply.status < 200 || reply.status >= 300) return { status: 'failed', detail: `${path}: HTTP ${reply.status} ${snippet(reply.body, 60)}`.trimEnd() };
  const samples = parsePrometheusText(reply.body);
  const sample = extractSample(kind, samples, now());
  // TGI (metrics-rs) writes a series only once it has been recorded: a fresh server may have none yet
  if (!sample) return { status: 'failed', detail: `${path}: no known ${kind} metric among ${samples.length} sample(s)` };
  return { status: 'ok', sample, detail: `${path}: running ${sample.running}, waiting ${sample.waiting}, progress ${sample.progress}` };
}
