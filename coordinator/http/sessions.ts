import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Browser sessions for the read API and the dashboard once viewer tokens are set: a browser
 * cannot add an Authorization header to a page load, so an operator logs in once with a
 * viewer (or admin) token and gets an HttpOnly, SameSite=Strict cookie. Sessions only ever
 * grant reading: changes still need an admin Bearer token, so a cookie can never be ridden
 * by another site into a mutation. Kept in memory: a coordinator restart logs everyone out.
 */
export const SESSION_COOKIE = 'llmh_session';
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Oldest sessions go first past this many (a bound, whatever a client does). */
const MAX_SESSIONS = 1000;

export class SessionStore {
  /** id → expiry (epoch ms); a Map keeps insertion order, so the first entry is the oldest */
  private readonly sessions = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  create(): { id: string; maxAgeSeconds: number } {
    const id = randomBytes(32).toString('base64url');
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(id, this.now() + SESSION_TTL_MS);
    return { id, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** True for a live session named by the request's cookie. */
  valid(req: IncomingMessage): boolean {
    const id = sessionId(req);
    if (id === undefined) return false;
    const expires = this.sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  end(req: IncomingMessage): void {
    const id = sessionId(req);
    if (id !== undefined) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}

function sessionId(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for a new session; `Secure` when the request came over TLS. */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
