import { redactUrl } from '../../shared/logger.js';

/** First retry after 1 s, doubling per failed attempt of the same message ... */
export const INITIAL_BACKOFF_MS = 1000;
/** ... up to 5 minutes between attempts. There is no deadline: a notification is retried until it goes out. */
export const MAX_BACKOFF_MS = 5 * 60_000;
/** Share of the delay taken off at random, so receivers coming back are not hit in lockstep. */
export const BACKOFF_JITTER = 0.2;
/**
 * A provider's Retry-After is honoured up to this long; beyond it (a misconfigured proxy
 * answering `Retry-After: 31536000`) the queue would stall for good, so it is capped.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;
/** Floor for Retry-After: Discord's `retry_after` can be a few milliseconds. */
export const MIN_RETRY_AFTER_MS = 100;
/** Errors are stored and logged at most this long (a provider may answer with a whole HTML page). */
export const MAX_ERROR_LENGTH = 500;

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: INITIAL_BACKOFF_MS, maxMs: MAX_BACKOFF_MS, jitter: BACKOFF_JITTER };

/** Delay before the next attempt after `failures` (>= 1) failed attempts: exponential, capped, jittered down. */
export function backoffDelay(failures: number, random: () => number, b: BackoffSettings = DEFAULT_BACKOFF): number {
  const exp = Math.min(Math.max(0, failures - 1), 30);
  const base = Math.min(b.maxMs, b.initialMs * 2 ** exp);
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(1, Math.round(base * (1 - b.jitter * r)));
}

/**
 * When to come back after a retryable failure: the provider's Retry-After when it gave
 * one (never sooner than the receiver's pacing interval), else the backoff.
 */
export function retryDelay(retryAfterMs: number | undefined, failures: number, minIntervalMs: number, random: () => number, b: BackoffSettings = DEFAULT_BACKOFF): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(retryAfterMs, minIntervalMs, MIN_RETRY_AFTER_MS));
  }
  return backoffDelay(failures, random, b);
}

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const BEARER_RE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * Notifiers scrub their own errors (docs/states-and-alerts.md: secrets never appear in logs); this is the
 * second line for whatever slips through, such as an exception text from a library
 * that quotes the webhook URL: URLs keep only scheme and host, credentials go, length is bounded.
 */
export function scrubError(text: string): string {
  const clean = String(text).replace(URL_RE, (u) => redactUrl(u)).replace(BEARER_RE, '$1 [redacted]').replace(/\s+/g, ' ').trim();
  return clean.length > MAX_ERROR_LENGTH ? `${clean.slice(0, MAX_ERROR_LENGTH - 1)}…` : clean;
}
