import type { IncomingMessage } from 'node:http';
import type { Clock } from '../../shared/clock.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import type { Logger } from '../../shared/logger.js';
import { MatcherError, MAX_MATCHERS, matchOne, parseMatcher, validateMatcher } from '../alerts/matchers.js';
import { silenceState } from '../alerts/silences.js';
import type { Matcher, Silence } from '../alerts/types.js';
import type { SilenceStore } from '../store/silence-store.js';
import { parseSince } from './api.js';
import { badRequest, HttpError, sendJson } from './respond.js';
import type { Router } from './router.js';
import type { FeedSilence } from '../../shared/feed/messages.js';
import { newOperatorId } from '../ids.js';
import { readBodyText } from './body.js';

/** A silence body is a handful of short strings; anything bigger is not one. */
export const MAX_SILENCE_BODY_BYTES = 64 * 1024;
export const MAX_COMMENT_LENGTH = 1000;
export const MAX_CREATED_BY_LENGTH = 128;
/**
 * Longest silence whatever `silences.maxDuration` says: a forgotten one-year silence is an
 * outage nobody hears about.
 */
export const MAX_SILENCE_DURATION_MS = 366 * 86_400_000;
const MAX_ID_LENGTH = 64;

export interface SilenceApiDeps {
  store: Pick<SilenceStore, 'createSilence' | 'getSilence' | 'listSilences' | 'expireSilence'>;
  clock: Clock;
  /** ms; longer silences are refused (config `silences.maxDuration`) */
  maxDuration: number;
  /** audit lines: who silenced what, who expired it */
  logger: Logger;
  /** a silence was created or expired, as now stored (SilenceCache.put keeps the alert pipeline's copy current) */
  onChange?: (silence: Silence) => void;
  newId?: () => string;
}

/** A silence as the API serves it: times in ISO 8601, its state at the time of the request. */
export type SilenceView = FeedSilence;

/**
 * `POST /api/v1/silences` (admin) → 201 `{ id }`; `GET /api/v1/silences[?all=1]` (viewer:
 * active and pending, `all` adds expired ones); `GET /api/v1/silences/:id` (viewer);
 * `DELETE /api/v1/silences/:id` (admin: expire now) → 200 with the silence, 404 unknown.
 */
export function registerSilenceRoutes(router: Router, deps: SilenceApiDeps): void {
  const newId = deps.newId ?? newOperatorId;
  router
    .add('POST', '/api/v1/silences', 'admin', async ({ req, res, audit }) => {
      const now = deps.clock.now();
      const silence = parseSilenceRequest(await readJsonBody(req, MAX_SILENCE_BODY_BYTES), now, newId(), deps.maxDuration);
      audit.target = silence.id;
      audit.detail = { matchers: silence.matchers, startsAt: iso(silence.startsAt), endsAt: iso(silence.endsAt), createdBy: silence.createdBy, comment: silence.comment };
      await deps.store.createSilence(silence);
      deps.logger.info(
        { silenceId: silence.id, createdBy: silence.createdBy, matchers: silence.matchers, startsAt: iso(silence.startsAt), endsAt: iso(silence.endsAt), comment: silence.comment },
        'silence created',
      );
      deps.onChange?.(silence);
      sendJson(res, 201, { id: silence.id }, { Location: `/api/v1/silences/${encodeURIComponent(silence.id)}` });
    }, 'silence.create')
    .add('GET', '/api/v1/silences', 'viewer', async ({ res, url }) => {
      const all = url.searchParams.get('all');
      if (all !== null && !['', '0', '1', 'true', 'false'].includes(all)) throw badRequest('all: expected 1 or 0');
      const now = deps.clock.now();
      const silences = await deps.store.listSilences({ now, includeExpired: all === '' || all === '1' || all === 'true' });
      sendJson(res, 200, { silences: silences.map((s) => silenceView(s, now)) });
    })
    .add('GET', '/api/v1/silences/:id', 'viewer', async ({ res, params }) => {
      const silence = validId(params.id!) ? await deps.store.getSilence(params.id!) : undefined;
      if (!silence) throw notFound(params.id!);
      sendJson(res, 200, silenceView(silence, deps.clock.now()));
    })
    .add('DELETE', '/api/v1/silences/:id', 'admin', async ({ res, params }) => {
      const now = deps.clock.now();
      const silence = validId(params.id!) ? await deps.store.expireSilence(params.id!, now) : undefined;
      if (!silence) throw notFound(params.id!);
      deps.logger.info({ silenceId: silence.id, endsAt: iso(silence.endsAt) }, 'silence expired');
      deps.onChange?.(silence);
      sendJson(res, 200, silenceView(silence, now));
    }, 'silence.expire');
}

export function silenceView(s: Silence, now: number): SilenceView {
  return {
    id: s.id,
    state: silenceState(s, now),
    matchers: s.matchers,
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

const FIELDS = new Set(['matchers', 'startsAt', 'endsAt', 'duration', 'comment', 'createdBy']);

/**
 * Validates a create request; every 400 names the field. `startsAt` defaults to now, and a
 * start in the past becomes now (as Alertmanager). The end comes from `endsAt` or
 * `duration` (exactly one), at most `maxDuration` after the start. At least one matcher must not match an empty label value:
 * a silence of only `x=~.*`-like matchers would mute every alert of the fleet.
 */
export function parseSilenceRequest(body: unknown, now: number, id: string, maxDuration: number): Silence {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: expected a JSON object');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.has(key)) throw badRequest(`${key}: unknown field (expected ${[...FIELDS].join(', ')})`);

  if (!Array.isArray(b.matchers) || b.matchers.length === 0) throw badRequest('matchers: expected a non-empty list like ["service=qwen-vl", "host=~gpu-.*"]');
  if (b.matchers.length > MAX_MATCHERS) throw badRequest(`matchers: at most ${MAX_MATCHERS}`);
  const matchers = b.matchers.map((m: unknown, i: number) => toMatcher(m, `matchers[${i}]`));
  if (matchers.every((m) => matchOne(m, ''))) throw badRequest('matchers: at least one matcher must not match an empty label value (this silence would mute every alert)');

  let startsAt = now;
  if (b.startsAt !== undefined && b.startsAt !== null) startsAt = Math.max(now, toTime(b.startsAt, 'startsAt'));
  const hasEnd = b.endsAt !== undefined && b.endsAt !== null;
  const hasDuration = b.duration !== undefined && b.duration !== null;
  if (hasEnd === hasDuration) throw badRequest(hasEnd ? 'duration: give endsAt or duration, not both' : 'endsAt: required (or duration, like "2h")');
  let endsAt: number;
  if (hasDuration) {
    const ms = parseDuration(b.duration);
    if (ms === undefined || ms <= 0) throw badRequest(`duration: expected a positive duration like 30m, 2h, 1d or integer milliseconds, got ${JSON.stringify(b.duration)}`);
    endsAt = startsAt + ms;
  } else {
    endsAt = toTime(b.endsAt, 'endsAt');
    if (endsAt <= startsAt) throw badRequest(`endsAt: must be after startsAt (${iso(startsAt)})`);
  }
  const limit = Math.min(maxDuration, MAX_SILENCE_DURATION_MS);
  if (endsAt - startsAt > limit) {
    const setting = limit === maxDuration ? ' (silences.maxDuration)' : '';
    throw badRequest(`${hasDuration ? 'duration' : 'endsAt'}: a silence lasts at most ${formatDuration(limit)}${setting}, this one ${formatDuration(endsAt - startsAt)}`);
  }

  return {
    id,
    matchers,
    startsAt,
    endsAt,
    createdBy: text(b.createdBy, 'createdBy', MAX_CREATED_BY_LENGTH),
    comment: text(b.comment, 'comment', MAX_COMMENT_LENGTH),
    createdAt: now,
    updatedAt: now,
  };
}

function toMatcher(m: unknown, field: string): Matcher {
  try {
    if (typeof m === 'string') return parseMatcher(m);
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new MatcherError('expected "name=value" (=, !=, =~, !~) or { name, value, isRegex, isEqual }');
    const o = m as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!['name', 'value', 'isRegex', 'isEqual'].includes(key)) throw new MatcherError(`unknown field ${JSON.stringify(key)}`);
    const matcher = { name: o.name, value: o.value, isRegex: o.isRegex ?? false, isEqual: o.isEqual ?? true } as Matcher;
    validateMatcher(matcher);
    return { name: matcher.name, value: matcher.value, isRegex: matcher.isRegex, isEqual: matcher.isEqual };
  } catch (err) {
    if (err instanceof MatcherError) throw badRequest(`${field}: ${err.message}`);
    throw err;
  }
}

function toTime(v: unknown, field: string): number {
  const ms = typeof v === 'number' ? (Number.isSafeInteger(v) && v >= 0 ? v : undefined) : typeof v === 'string' ? parseSince(v) : undefined;
  if (ms === undefined) throw badRequest(`${field}: expected an ISO 8601 time like 2026-01-01T10:00:00Z or epoch milliseconds`);
  return ms;
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '') throw badRequest(`${field}: required, a non-empty string`);
  if (v.length > max) throw badRequest(`${field}: at most ${max} characters`);
  return v.trim();
}

function validId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LENGTH;
}

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `no silence with id ${JSON.stringify(id.slice(0, MAX_ID_LENGTH))}`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Reads a JSON request body of at most `maxBytes` (413 beyond, 400 when it is not JSON). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const text = await readBodyText(req, maxBytes);
  if (text.trim() === '') throw badRequest('body: expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('body: not valid JSON');
  }
}
