import { redactUrl } from '../../shared/logger.js';

/**
 * Webhook URLs carry their secret in the path (Slack `/services/T/B/secret`, Discord
 * `/api/webhooks/id/token`) and SMTP configs carry a password. Error text that came from a
 * library or a provider may quote either; `scrub` removes them before a DeliveryResult
 * leaves a notifier (shared/logger.ts `redactUrl` is what notifiers say instead).
 */

const MASK = '[redacted]';
/** Path segments and query values at least this long are treated as secrets. */
const MIN_SECRET_SEGMENT = 6;
/** Words of a secret value (header credentials) at least this long are masked on their own. */
const MIN_SECRET_WORD = 8;

export interface Secrets {
  urls?: readonly string[];
  values?: readonly (string | undefined)[];
}

export function scrub(text: string, secrets: Secrets): string {
  let out = text;
  // A whole URL becomes its redacted form, which still says where the request went.
  const whole = (secrets.urls ?? []).flatMap((url) => [url, normalised(url)]).filter((u) => u !== '');
  for (const url of whole.sort((a, b) => b.length - a.length)) out = out.split(url).join(redactUrl(url));
  const parts = new Set<string>();
  for (const url of secrets.urls ?? []) for (const p of urlSecrets(url)) parts.add(p);
  for (const v of secrets.values ?? []) {
    if (!v || v.length < 3) continue;
    parts.add(v);
    parts.add(encodeURIComponent(v));
    // `Bearer <token>`, `Basic <b64>`: the credential alone may be quoted back
    for (const word of v.split(/\s+/)) if (word.length >= MIN_SECRET_WORD) parts.add(word);
    parts.add(Buffer.from(v).toString('base64'));
  }
  // Longest first, so a path is masked before its segments are.
  for (const p of [...parts].filter((p) => p.length > 0).sort((a, b) => b.length - a.length)) out = out.split(p).join(MASK);
  return out;
}

function urlSecrets(url: string): string[] {
  const out: string[] = [];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [url];
  }
  if (u.pathname.length > 1) out.push(u.pathname + u.search, u.pathname);
  if (u.search) out.push(u.search);
  for (const seg of u.pathname.split('/')) {
    if (seg.length >= MIN_SECRET_SEGMENT) {
      out.push(seg);
      try {
        out.push(decodeURIComponent(seg));
      } catch {
        // a malformed escape is matched as written
      }
    }
  }
  for (const v of u.searchParams.values()) if (v.length >= MIN_SECRET_SEGMENT) out.push(v);
  if (u.username) out.push(u.username);
  if (u.password) out.push(u.password, decodeURIComponent(u.password));
  return out;
}

function normalised(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return '';
  }
}
