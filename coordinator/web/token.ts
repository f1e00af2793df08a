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
