import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/logger.js';
import type { TokenSet } from '../auth.js';
import { readBodyText } from './body.js';
import { HttpError, sendHtml } from './respond.js';
import type { Router } from './router.js';
import { clearedSessionCookie, sessionCookie, type SessionStore } from './sessions.js';

export interface LoginDeps {
  sessions: SessionStore;
  viewerTokens: TokenSet;
  adminTokens: TokenSet;
  logger: Logger;
}

const MAX_LOGIN_BODY_BYTES = 4096;

/**
 * `GET /login` (a form), `POST /login` (a viewer or admin token → a session cookie, then the
 * dashboard) and `POST /logout`. Registered only when viewer tokens are set: with an open read
 * API there is nothing to log in to.
 */
export function registerLoginRoutes(router: Router, deps: LoginDeps): void {
  router
    .add('GET', '/login', 'public', ({ res }) => sendHtml(res, 200, loginPage('')))
    .add('POST', '/login', 'public', async ({ req, res }) => {
      const token = await formToken(req);
      // both sets checked every time: timing says nothing about which matched
      const isViewer = token !== '' && deps.viewerTokens.has(token);
      const isAdmin = token !== '' && deps.adminTokens.has(token);
      if (!isViewer && !isAdmin) {
        deps.logger.warn({ remote: req.socket.remoteAddress }, 'dashboard login refused: unknown token');
        return sendHtml(res, 401, loginPage('That token is not a viewer or admin token of this coordinator.'));
      }
      const session = deps.sessions.create();
      deps.logger.info({ remote: req.socket.remoteAddress, role: isAdmin ? 'admin' : 'viewer' }, 'dashboard login');
      redirect(res, '/', sessionCookie(session.id, session.maxAgeSeconds, encrypted(req)));
    })
    .add('POST', '/logout', 'public', ({ req, res }) => {
      deps.sessions.end(req);
      redirect(res, '/login', clearedSessionCookie(encrypted(req)));
    });
}

async function formToken(req: IncomingMessage): Promise<string> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'unsupported_media_type', 'send the login form (application/x-www-form-urlencoded)');
  return (new URLSearchParams(await readBodyText(req, MAX_LOGIN_BODY_BYTES)).get('token') ?? '').trim();
}

function encrypted(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}

function redirect(res: ServerResponse, location: string, cookie: string): void {
  res.writeHead(303, { Location: location, 'Set-Cookie': cookie, 'Cache-Control': 'no-store', 'Content-Length': 0 });
  res.end();
}

function loginPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-health: log in</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}input{font:inherit;padding:.3em;width:28em}p.err{color:#cf222e}</style>
</head><body><h1>llm-health</h1>
<p>This coordinator's read API is behind viewer tokens. Log in with a viewer (or admin) token; the
session lasts 12 hours in this browser and only allows reading.</p>
${message ? `<p class="err" role="alert">${message}</p>` : ''}
<form method="post" action="/login"><label>Token <input name="token" type="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button></form>
</body></html>
`;
}
