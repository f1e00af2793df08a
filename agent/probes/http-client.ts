import { performance } from 'node:perf_hooks';
import { Agent, errors, request, type Dispatcher } from 'undici';
import type { ProbeOutcome } from './types.js';

/**
 * A probe must survive any server: a 50 MB answer, binary garbage, a socket that never
 * answers. Every body read here is capped, every attempt is bounded in time, and every
 * failure becomes a classified reply instead of an exception.
 */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** Longest body excerpt carried into a detail string (details travel in events and alerts). */
const SNIPPET_CHARS = 120;

export interface HttpRequest {
  method?: 'GET' | 'POST';
  url: string;
  /** JSON request body (POST) */
  json?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  maxBodyBytes?: number;
}

export type HttpReply = HttpAnswer | HttpFailure;

export interface HttpAnswer {
  ok: true;
  status: number;
  /** the body decoded as UTF-8 (lossy for binary) */
  body: string;
  bytes: number;
  latencyMs: number;
}

export interface HttpFailure {
  ok: false;
  outcome: ProbeOutcome;
  detail: string;
  latencyMs: number;
  status?: number;
  /** the error code the outcome was derived from, when there was one */
  code?: string;
  /** body bytes read before giving up (bounded by maxBodyBytes plus one chunk) */
  bytes?: number;
}

export interface HttpClientOptions {
  /** shared keep-alive dispatcher; undici's global one when absent */
  dispatcher?: Dispatcher;
  maxBodyBytes?: number;
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpReply>;
}

/**
 * The one keep-alive dispatcher the agent shares across probes. Keep-alive is shorter than
 * llama.cpp's and uvicorn's 5 s server-side idle close, so we never reuse a socket the
 * server is closing at the same moment (which would surface as a spurious reset).
 */
export function createProbeDispatcher(options: { connectTimeoutMs?: number } = {}): Agent {
  return new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
    connections: 4,
    connect: { timeout: options.connectTimeoutMs ?? 10_000 },
  });
}

/**
 * A pooled keep-alive socket can die between rounds (the server restarted or crashed); the
 * request written to it then fails with "other side closed" before any answer, although a
 * fresh connect would say what is really there (refused, or an answer). GETs get one more
 * try for that case only, within the same deadline, as browsers do for idempotent requests.
 */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const defaultCap = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return {
    async request(req) {
      const cap = req.maxBodyBytes ?? defaultCap;
      const first = await send(req, options.dispatcher, cap);
      const retryable = !first.ok && first.status === undefined && first.code !== undefined && STALE_SOCKET_CODES.has(first.code);
      if (!retryable || (req.method ?? 'GET') !== 'GET' || req.json !== undefined) return first;
      const left = req.timeoutMs - first.latencyMs;
      if (left < 1) return first;
      const second = await send({ ...req, timeoutMs: left }, options.dispatcher, cap);
      return { ...second, latencyMs: second.latencyMs + first.latencyMs };
    },
  };
}

async function send(req: HttpRequest, dispatcher: Dispatcher | undefined, cap: number): Promise<HttpReply> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = new AbortController();
  // A real timer, not the injected Clock: this bounds socket I/O, which only real time moves.
  const timer = setTimeout(() => deadline.abort(), Math.max(1, req.timeoutMs));
  // linked by hand rather than AbortSignal.any(): that allocates weakly-held composite
  // signals per call, a measurable share of a probe's CPU at one request per second
  const onOuterAbort = () => deadline.abort();
  if (req.signal?.aborted) deadline.abort();
  else req.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = deadline.signal;
  let status: number | undefined;
  let bytes = 0;
  try {
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'llm-health-probe' };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    const res = await request(req.url, {
      method: req.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      dispatcher,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    status = res.statusCode;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      res.body.destroy();
      return { ok: false, outcome: 'bad_response', detail: `body over ${cap} bytes`, latencyMs: elapsed(), status, bytes: 0 };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > cap) {
        // destroying the stream closes the socket, so the rest is never transferred
        res.body.destroy();
        return { ok: false, outcome: 'bad_response', detail: `body over ${cap} bytes`, latencyMs: elapsed(), status, bytes };
      }
      chunks.push(chunk);
    }
    return { ok: true, status, body: Buffer.concat(chunks).toString('utf8'), bytes, latencyMs: elapsed() };
  } catch (err) {
    const { outcome, code } = classifyError(err, deadline.signal.aborted || (req.signal?.aborted ?? false));
    return { ok: false, outcome, code, detail: describeError(outcome, code, req.timeoutMs, status), latencyMs: elapsed(), status, bytes };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onOuterAbort);
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_ABORTED', 'ABORT_ERR', 'ETIMEDOUT']);

/**
 * Branches on `err.code` (undici's `UND_ERR_*`, Node's errno codes, llhttp's `HPE_*`) and
 * undici's error classes, never on message texts, which change between versions. `aborted` says our own deadline fired, which
 * undici reports with the signal's reason rather than a coded error.
 */
export function classifyError(err: unknown, aborted: boolean): { outcome: ProbeOutcome; code?: string } {
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return { outcome: 'refused', code };
  if (aborted || (code !== undefined && TIMEOUT_CODES.has(code))) return { outcome: 'timeout', code };
  // the server answered something that is not HTTP (binary garbage, a TLS port, a redis);
  // llhttp's error number does not always map to an HPE_ code, so the class decides too
  if (err instanceof errors.HTTPParserError || code?.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return { outcome: 'bad_response', code };
  return { outcome: 'error', code };
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // happy-eyeballs connects (localhost -> ::1 and 127.0.0.1) fail with an AggregateError
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.length) return errorCode(inner[0]);
  const cause = (err as { cause?: unknown }).cause;
  return cause ? errorCode(cause) : undefined;
}

function describeError(outcome: ProbeOutcome, code: string | undefined, timeoutMs: number, status: number | undefined): string {
  const during = status === undefined ? '' : ` (HTTP ${status}, reading body)`;
  switch (outcome) {
    case 'refused':
      return 'connect ECONNREFUSED';
    case 'timeout':
      return `no answer within ${timeoutMs}ms${during}`;
    case 'bad_response':
      return `not an HTTP answer${code ? ` (${code})` : ''}`;
    default:
      return `${code ?? 'network error'}${during}`;
  }
}

/** A short, printable excerpt of a body for detail strings (non-printable runs become one space). */
export function snippet(body: string, max = SNIPPET_CHARS): string {
  const flat = body.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
