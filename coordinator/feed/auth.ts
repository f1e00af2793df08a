import type { IncomingMessage } from 'node:http';
import { FEED_BEARER_PREFIX, FEED_SUBPROTOCOL } from '../../shared/feed/messages.js';
import { bearerToken, type TokenSet } from '../auth.js';
import type { SessionStore } from '../http/sessions.js';

export interface FeedAuthDeps {
  viewerTokens: TokenSet;
  adminTokens: TokenSet;
  /** browser logins; present only when viewer tokens are set */
  sessions?: SessionStore;
}

export type FeedAuthResult = { ok: true } | { ok: false; status: 400 | 401 | 403; code: string; message: string };

/** The subprotocols a client offered (`Sec-WebSocket-Protocol`, comma separated). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * Who may open the feed, decided before the upgrade. A token travels only in a header:
 * `Authorization: Bearer` (non-browser clients) or the subprotocol `bearer.<token>` (browsers
 * cannot set headers on a WebSocket); never the URL, which ends up in proxy and access logs.
 * A browser logged in to the dashboard uses its session cookie; then the Origin, when sent,
 * must be this coordinator's own, so another site cannot open the feed with the cookie.
 */
export function authorizeFeed(req: IncomingMessage, deps: FeedAuthDeps): FeedAuthResult {
  const offered = offeredProtocols(req);
  if (!offered.includes(FEED_SUBPROTOCOL)) return { ok: false, status: 400, code: 'bad_request', message: `offer the subprotocol ${FEED_SUBPROTOCOL}` };
  if (deps.viewerTokens.size === 0) return { ok: true };
  const fromProtocol = offered.find((p) => p.startsWith(FEED_BEARER_PREFIX))?.slice(FEED_BEARER_PREFIX.length);
  const token = fromProtocol ?? bearerToken(req.headers.authorization);
  if (token !== undefined) {
    // both sets every time, as the router does: timing says nothing about which matched
    const admin = deps.adminTokens.has(token);
    const viewer = deps.viewerTokens.has(token);
    return admin || viewer ? { ok: true } : { ok: false, status: 401, code: 'unauthorized', message: 'unknown token' };
  }
  if (deps.sessions?.valid(req)) {
    return sameOrigin(req) ? { ok: true } : { ok: false, status: 403, code: 'forbidden', message: 'cross-origin use of the session cookie' };
  }
  return { ok: false, status: 401, code: 'unauthorized', message: 'a viewer token (subprotocol bearer.<token>) or a session is required' };
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
