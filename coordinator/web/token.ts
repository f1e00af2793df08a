import { ApiError } from './api.js';

/**
 * The admin token, entered once and kept for this tab only (sessionStorage): gone when the
 * tab closes, never written to disk by the page, sent only to this page's own origin.
 */
const KEY = 'llmh-admin-token';
/** where the token lives when the browser refuses storage: until the page reloads */
let fallback: string | null = null;

export function adminToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return fallback;
  }
}

export function setAdminToken(token: string | null): void {
  fallback = token;
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: `fallback` holds it
  }
}

/**
 * The admin token for a change the operator asked for, or null after saying how to set it:
 * the announcement is read out and focus goes to the token field.
 */
export function tokenFor(what: string, announce: (text: string) => void): string | null {
  const token = adminToken();
  if (token) return token;
  announce(`${what} needs the admin token: set it at the top of the page.`);
  document.getElementById('token-input')?.focus();
  return null;
}

/** A token the coordinator refused (401/403) is wrong or revoked: the next change asks again. */
export function forgetRefusedToken(err: unknown): void {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setAdminToken(null);
}
