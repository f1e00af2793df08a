import { Agent, request, type Dispatcher } from 'undici';
import type { DeliveryResult } from './types.js';
import { scrub } from './redact.js';

/**
 * The one HTTP path every webhook-style notifier uses: JSON POST, a hard deadline, a capped
 * response read, and a DeliveryResult for every outcome (never an exception).
 */

/** Provider answers are short ("ok", a JSON error); more than this is not worth reading. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of a provider's error body travels into DeliveryResult.error. */
const ERROR_SNIPPET_CHARS = 300;

export interface JsonPost {
  url: string;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** the delivery worker's signal (shutdown) */
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  maxResponseBytes?: number;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** UTF-8, at most maxResponseBytes */
  body: string;
}

export type PostOutcome = { ok: true; answer: HttpAnswer } | { ok: false; result: DeliveryResult & { ok: false } };

/**
 * Failures that the same request would meet again (a malformed URL or header from the
 * config). Anything else thrown before an answer is network trouble, worth a retry.
 */
const PERMANENT_CODES = new Set(['ERR_INVALID_URL', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_CHAR', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * A keep-alive dispatcher for notifiers (pass it as NotifierDeps.dispatcher). Providers
 * keep idle sockets for a while (Slack and Discord behind their CDNs); a connect still
 * fails fast.
 */
export function createNotifyDispatcher(options: { connectTimeoutMs?: number } = {}): Agent {
  return new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 30_000, connections: 4, connect: { timeout: options.connectTimeoutMs ?? 10_000 } });
}

/**
 * POST `body` as JSON. Network failures, timeouts and aborts become retryable results whose
 * error text has the URL's secret parts removed; any HTTP answer is returned for the caller
 * to classify.
 */
export async function postJson(req: JsonPost): Promise<PostOutcome> {
  const cap = req.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const deadline = new AbortController();
  // A real timer, not the injected Clock: it bounds socket I/O, which only real time moves.
  const timer = setTimeout(() => deadline.abort(), Math.max(1, req.timeoutMs));
  const signal = req.signal ? AbortSignal.any([deadline.signal, req.signal]) : deadline.signal;
  try {
    const res = await request(req.url, {
      method: 'POST',
      headers: { 'user-agent': 'llm-health', accept: 'application/json, text/plain;q=0.9, */*;q=0.5', ...req.headers, 'content-type': 'application/json' },
      body: JSON.stringify(req.body),
      dispatcher: req.dispatcher,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const room = cap - bytes;
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room));
        bytes = cap;
        break; // leaving the loop destroys the stream: the rest is never read
      }
      chunks.push(chunk);
      bytes += chunk.length;
    }
    return { ok: true, answer: { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') } };
  } catch (err) {
    const e = err as Error & { code?: string };
    let error: string;
    if (deadline.signal.aborted) error = `timed out after ${req.timeoutMs}ms`;
    else if (req.signal?.aborted) error = 'aborted';
    else error = `${e.code ?? e.name}: ${e.message}`;
    const retryable = deadline.signal.aborted || !!req.signal?.aborted || !PERMANENT_CODES.has(e.code ?? '');
    return { ok: false, result: { ok: false, retryable, error: scrub(error, { urls: [req.url] }) } };
  } finally {
    clearTimeout(timer);
  }
}

/** First value of a header that may repeat. */
export function header(headers: HttpAnswer['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as milliseconds from
 * `nowMs`. Fractional seconds are accepted (some proxies send them). Undefined when absent or
 * unreadable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  // An HTTP-date always names a weekday or month; a bare number that failed above is junk.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * The common reading of an HTTP answer: 2xx delivered; 408, 425, 429 and 5xx retryable
 * (Retry-After honoured); any other status permanent.
 */
export function classifyHttpAnswer(answer: HttpAnswer, nowMs: number, secrets: { urls?: string[]; values?: string[] } = {}): DeliveryResult {
  const { status } = answer;
  if (status >= 200 && status < 300) return { ok: true, status };
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(answer.headers['retry-after'], nowMs) : undefined;
  return {
    ok: false,
    retryable,
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    error: httpError(answer, secrets),
  };
}

/** `HTTP 404: no_service`, the body cut short and scrubbed. */
export function httpError(answer: HttpAnswer, secrets: { urls?: string[]; values?: string[] } = {}): string {
  const text = answer.body.replace(/\s+/g, ' ').trim();
  const snippet = text.length > ERROR_SNIPPET_CHARS ? `${text.slice(0, ERROR_SNIPPET_CHARS)}…` : text;
  return scrub(`HTTP ${answer.status}${snippet ? `: ${snippet}` : ''}`, secrets);
}
