import { performance } from 'node:perf_hooks';
import { Agent as UndiciAgent, errors as undiciErrors, type Dispatcher } from 'undici';
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
export function createProbeDispatcher(options: { connectTimeoutMs?: number } = {}): Dispatcher {
  return new UndiciAgent({
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

const GET_HEADERS = ['accept', 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent', 'llm-health-probe'];
const POST_HEADERS = [...GET_HEADERS, 'content-type', 'application/json'];

/** Used when a caller brings no dispatcher (one-off checks); created on first use. */
let fallbackDispatcher: Dispatcher | undefined;

/**
 * One request through undici's dispatcher with a handler of our own rather than its
 * `request()` API: no response stream, async iterator or AbortController per request, which
 * at one probe per server per second is most of a probe's CPU. The deadline is our own
 * timer and settles the reply on time even while undici is still connecting.
 */
function send(req: HttpRequest, dispatcher: Dispatcher | undefined, cap: number): Promise<HttpReply> {
  let target: URL;
  try {
    target = new URL(req.url);
  } catch {
    return Promise.resolve({ ok: false, outcome: 'error', detail: `invalid URL ${JSON.stringify(req.url)}`, latencyMs: 0 });
  }
  const body = req.json === undefined ? undefined : JSON.stringify(req.json);
  return new Promise<HttpReply>((resolve) => {
    const exchange = new Exchange(req, cap, resolve);
    if (req.signal?.aborted) return exchange.cancel();
    exchange.arm();
    (dispatcher ?? (fallbackDispatcher ??= createProbeDispatcher())).dispatch(
      {
        origin: target.origin,
        path: target.pathname + target.search,
        method: req.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: body === undefined ? GET_HEADERS : POST_HEADERS,
        body,
        // our deadline covers connect, headers and body together
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      exchange,
    );
  });
}

/** The handler for one request: collects a capped body and settles exactly once. */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private abortRequest: ((err: Error) => void) | undefined;
  private settled = false;
  private status: number | undefined;
  private bytes = 0;
  private chunks: Buffer[] = [];
  private readonly onOuterAbort = () => this.cancel();

  constructor(
    private readonly req: HttpRequest,
    private readonly cap: number,
    private readonly resolve: (reply: HttpReply) => void,
  ) {}

  arm(): void {
    // A real timer, not the injected Clock: this bounds socket I/O, which only real time moves.
    this.timer = setTimeout(() => this.cancel(), Math.max(1, this.req.timeoutMs));
    this.req.signal?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** The deadline passed or the caller gave up: a timeout, and the request is torn down. */
  cancel(): void {
    if (this.settled) return;
    this.fail(null, true);
    this.abortRequest?.(new undiciErrors.RequestAbortedError());
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort(new undiciErrors.RequestAbortedError());
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (this.settled) return false;
    this.status = statusCode;
    const declared = contentLength(rawHeaders);
    if (declared !== undefined && declared > this.cap) this.tooBig();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return false;
    this.bytes += chunk.length;
    // aborting closes the socket, so the rest is never transferred
    if (this.bytes > this.cap) this.tooBig();
    else this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    const body = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    const reply: HttpReply = { ok: true, status: this.status!, body, bytes: this.bytes, latencyMs: this.elapsed() };
    this.settled = true;
    // undici hands the socket back to its pool one loop turn after a response (a
    // setImmediate queued after this callback returns). A round's next request (ready,
    // metrics) sent before that would find the connection busy and open a second one, which
    // then idles out: a connect and a close every few rounds. Settling after undici's turn
    // keeps one connection per server.
    process.nextTick(() => setImmediate(() => this.settle(reply)));
  }

  onError(err: Error): void {
    this.fail(err, false);
  }

  private tooBig(): void {
    this.settle({ ok: false, outcome: 'bad_response', detail: `body over ${this.cap} bytes`, latencyMs: this.elapsed(), status: this.status, bytes: this.bytes });
    this.abortRequest?.(new undiciErrors.RequestAbortedError());
  }

  private fail(err: unknown, aborted: boolean): void {
    if (this.settled) return;
    const { outcome, code } = classifyError(err, aborted);
    this.settle({ ok: false, outcome, code, detail: describeError(outcome, code, this.req.timeoutMs, this.status), latencyMs: this.elapsed(), status: this.status, bytes: this.bytes });
  }

  private settle(reply: HttpReply): void {
    this.settled = true;
    this.chunks = [];
    clearTimeout(this.timer);
    this.req.signal?.removeEventListener('abort', this.onOuterAbort);
    this.resolve(reply);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }
}

/** The Content-Length header from undici's raw [name, value, ...] list, if present and numeric. */
function contentLength(rawHeaders: (Buffer | string)[]): number | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 14 && name.toString().toLowerCase() === 'content-length') {
      const n = Number(rawHeaders[i + 1]!.toString());
      return Number.isFinite(n) ? n : undefined;
    }
  }
  return undefined;
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
  if (err instanceof undiciErrors.HTTPParserError || code?.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return { outcome: 'bad_response', code };
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
