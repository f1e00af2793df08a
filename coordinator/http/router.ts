import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import { bearerToken, type TokenSet } from '../auth.js';
import { HttpError, sendError } from './respond.js';
import type { SessionStore } from './sessions.js';

/**
 * A route table on plain node:http: exact segments and `:param` segments, one access level
 * per route. Enough for the API in docs/http-api.md (`/api/v1/restarts/:id` included) without a
 * framework; one file per group of routes registers itself through `add`.
 */

/** `public`: always open; `viewer`: open unless viewer tokens are configured; `admin`: admin token required. */
export type Access = 'public' | 'viewer' | 'admin';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /**
   * The caller presented a valid viewer or admin token. Always true behind a viewer token
   * wall; on an open read API it is what separates a token holder from anyone at all.
   */
  tokenHolder: boolean;
  /** the admin token's name when an admin token came with the request (audit: who) */
  actor: string | undefined;
  /** what an audited route's handler adds to its audit row (target, detail) */
  audit: AuditNote;
}

export interface AuditNote {
  /** defaults to the route's first `:param` */
  target: string | null;
  detail: Record<string, unknown>;
}

/** One audited call as it ended; the router reports every call of a route added with an audit action, refused ones included. */
export interface AuditedCall {
  actor: string;
  remote: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  outcome: 'ok' | 'refused' | 'error';
  status: number | null;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

interface Route {
  method: string;
  segments: string[];
  access: Access;
  handler: RouteHandler;
  audit?: string;
}

export interface RouterAuth {
  viewerTokens: TokenSet;
  adminTokens: TokenSet;
  /** browser logins (sessions.ts): a live session may read, never change anything */
  sessions?: SessionStore;
  /**
   * The audit log: every call of a route added with an `audit` action, refused ones
   * included. `begin` is called as the call starts, its result with the outcome.
   */
  audit?: { begin(): (call: AuditedCall) => void };
}

const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="llm-health"' };

export class Router {
  private readonly routes: Route[] = [];

  constructor(
    private readonly auth: RouterAuth,
    private readonly logger: Logger,
  ) {}

  /** `audit`: the action name under which every call of this route goes to the audit log. */
  add(method: 'GET' | 'POST' | 'PUT' | 'DELETE', pattern: string, access: Access, handler: RouteHandler, audit?: string): this {
    this.routes.push({ method, segments: split(pattern), access, handler, ...(audit ? { audit } : {}) });
    return this;
  }

  /** node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
        return;
      }
      this.logger.error({ method: req.method, path: safePath(req.url), err: (err as Error)?.message }, 'request failed');
      if (!res.headersSent) sendError(res, new HttpError(500, 'internal', 'internal error'));
      else res.destroy();
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, 'bad_request', 'malformed request target');
    }
    // HEAD is GET without a body; node:http drops the body of a HEAD response itself.
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const path = split(url.pathname);
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = match(route.segments, path);
      if (!params) continue;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      const note: AuditNote = { target: Object.values(params)[0] ?? null, detail: {} };
      const finish = route.audit && this.auth.audit?.begin();
      if (!route.audit || !finish) return this.run(route, { req, res, url, params, note });
      const call = (outcome: AuditedCall['outcome'], status: number): AuditedCall => ({ actor: this.callerName(req), remote: req.socket.remoteAddress ?? null, action: route.audit!, target: note.target, detail: note.detail, outcome, status });
      try {
        await this.run(route, { req, res, url, params, note });
        finish(call('ok', res.statusCode));
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (err instanceof HttpError) note.detail = { ...note.detail, error: err.code, message: err.message.slice(0, 300) };
        finish(call(status < 500 ? 'refused' : 'error', status));
        throw err;
      }
      return;
    }
    if (allowed.size > 0) throw new HttpError(405, 'method_not_allowed', `use ${[...allowed].join(', ')}`, { Allow: [...allowed].join(', ') });
    throw new HttpError(404, 'not_found', 'no such endpoint');
  }

  private async run(route: Route, c: { req: IncomingMessage; res: ServerResponse; url: URL; params: Record<string, string>; note: AuditNote }): Promise<void> {
    const tokenHolder = this.authorize(route.access, c.req);
    const actor = tokenHolder ? this.auth.adminTokens.nameOf(bearerToken(c.req.headers.authorization)) : undefined;
    await route.handler({ req: c.req, res: c.res, url: c.url, params: c.params, tokenHolder, actor, audit: c.note });
  }

  /** Who called, for the audit log: the admin token's name, never the token itself. */
  private callerName(req: IncomingMessage): string {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return this.auth.sessions?.valid(req) ? 'browser session' : 'anonymous';
    return this.auth.adminTokens.nameOf(token) ?? (this.auth.viewerTokens.has(token) ? 'viewer token' : 'unknown token');
  }

  private unauthenticated(req: IncomingMessage): HttpError {
    if (this.auth.sessions && wantsPage(req)) return new HttpError(303, 'login_required', 'log in first', { Location: '/login' });
    return new HttpError(401, 'unauthorized', 'a bearer token is required', UNAUTHORIZED_HEADERS);
  }

  /** Throws when the route's access is not met; otherwise says whether a valid token came with the request. */
  private authorize(access: Access, req: IncomingMessage): boolean {
    const { viewerTokens, adminTokens } = this.auth;
    const token = bearerToken(req.headers.authorization);
    // Admins may read too. Both sets are checked every time, so timing says nothing about which matched.
    const isAdmin = token !== undefined && adminTokens.has(token);
    const isViewer = token !== undefined && viewerTokens.has(token);
    // open routes still note a valid token: it unlocks what an anonymous reader is not shown
    if (access === 'public' || (access === 'viewer' && viewerTokens.size === 0)) return isAdmin || isViewer || this.auth.sessions?.valid(req) === true;
    if (token === undefined && access === 'viewer' && this.auth.sessions?.valid(req)) return true;
    if (token === undefined) throw this.unauthenticated(req);
    if (access === 'admin' ? isAdmin : isAdmin || isViewer) return true;
    if (isViewer) throw new HttpError(403, 'forbidden', 'this token may not change anything');
    throw new HttpError(401, 'unauthorized', 'unknown token', UNAUTHORIZED_HEADERS);
  }
}

/** A browser asking for a page is sent to the login form; anything else gets the JSON 401. */
function wantsPage(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function match(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = path[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (p !== s) return undefined;
  }
  return params;
}

/** The path without its query string, which may carry anything a client put there. */
function safePath(url: string | undefined): string {
  return (url ?? '').split('?')[0]!.slice(0, 200);
}
