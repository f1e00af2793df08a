import type { ServerResponse } from 'node:http';

/**
 * A failure with an HTTP status and a stable machine-readable code; the router turns it
 * into `{ error: { code, message } }` (the hono HTTPException idea).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

/**
 * The default policy is for pages with no scripts that load nothing (the login form): an
 * injected string could not load anything either. frame-ancestors does not fall back to
 * default-src: without it any site could frame the page (clickjacking); X-Frame-Options says
 * the same to browsers that predate it. The dashboard passes its own policy.
 */
export const NO_SCRIPT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export function sendHtml(res: ServerResponse, status: number, html: string, csp = NO_SCRIPT_CSP): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Content-Security-Policy': csp,
    'X-Frame-Options': 'DENY',
  });
  res.end(html);
}
