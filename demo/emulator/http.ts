/**
 * The small HTTP toolkit the emulated servers share: one request/response pair with a body
 * reader and an abort signal, reply helpers, and abortable waits.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The request could not be understood. `syntax` marks a body that is not JSON at all, which
 * some servers answer differently from a well-formed body of the wrong shape (TGI's axum
 * with plain text, llama.cpp with its JSON library's message, from the `raw` body).
 */
export class BadRequest extends Error {
  constructor(message: string, readonly syntax = false, readonly raw?: Buffer) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** Vision requests carry base64 images, so the cap sits well above a text prompt. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class Exchange {
  readonly url: URL;
  private bodyPromise?: Promise<Buffer>;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** aborted when the client goes away or the emulator closes */
    readonly signal: AbortSignal,
  ) {
    this.url = new URL(req.url ?? '/', 'http://emulator.invalid');
  }

  get method(): string {
    return this.req.method === 'HEAD' ? 'GET' : (this.req.method ?? 'GET');
  }

  get path(): string {
    return this.url.pathname;
  }

  body(): Promise<Buffer> {
    this.bodyPromise ??= readBody(this.req);
    return this.bodyPromise;
  }

  /** The body as a JSON object; anything else is a BadRequest, as with the real servers. */
  async json(): Promise<Record<string, unknown>> {
    const bytes = await this.body();
    const raw = bytes.toString('utf8');
    if (!raw.trim()) throw new BadRequest('Request body is empty: expected a JSON object', true, bytes);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new BadRequest(`Invalid JSON in request body: ${(err as Error).message}`, true, bytes);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BadRequest('Request body must be a JSON object');
    }
    return value as Record<string, unknown>;
  }

  get answered(): boolean {
    return this.res.headersSent || this.res.writableEnded;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest(`Request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Resolves true after `ms`, or false as soon as `signal` aborts; never leaves a timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits until `signal` aborts: how a hung engine "answers". */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
