import { compileRegex, MAX_REGEX_LENGTH, regexProblem, RegexSyntaxError, type FullMatchRegex } from '../../shared/regex.js';
import type { Labels, Matcher } from './types.js';

/**
 * Alertmanager-style label matchers: `name=value`, `name!=value`, `name=~regex`,
 * `name!~regex`. Regexes are anchored (`^(?:re)$`). A label that is absent matches as the
 * empty string, so `name=""` means "has no such label".
 *
 * Regexes run on every flush against every alert of a group, so a bad one must not be able
 * to stall the coordinator: they use RE2 syntax and an RE2 engine (shared/regex.ts), which
 * matches in time linear in the label value whatever the pattern, as Alertmanager's Go
 * regexp does. What RE2 cannot do (backreferences, lookaround) is refused when the matcher
 * is created.
 */

export const MATCHER_INVALID = 'LLMH_MATCHER_INVALID' as const;

export class MatcherError extends Error {
  readonly code = MATCHER_INVALID;
  constructor(message: string) {
    super(message);
    this.name = 'MatcherError';
  }
}

/** Label names: a letter or `_`, then letters, digits and `_.-` (Prometheus names plus agent-label keys like `k8s.zone`). */
export const LABEL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** Longest value of an equality matcher. */
export const MAX_MATCHER_VALUE_LENGTH = 1024;
/** Longest regex of a `=~`/`!~` matcher. */
export const MAX_MATCHER_REGEX_LENGTH = MAX_REGEX_LENGTH;
/** Most matchers in one silence or receiver. */
export const MAX_MATCHERS = 32;

type Op = '=' | '!=' | '=~' | '!~';

/** Parses one matcher string; throws MatcherError. The value may be double-quoted (`"a b"`, with `\\"` and `\\\\` escapes). */
export function parseMatcher(text: string): Matcher {
  const s = text.trim();
  const m = /^([^=!~\s"]+)\s*(=~|!~|!=|=)\s*(.*)$/s.exec(s);
  if (!m) throw new MatcherError(`invalid matcher ${JSON.stringify(clip(s))}: expected name=value, name!=value, name=~regex or name!~regex`);
  const op = m[2] as Op;
  const matcher: Matcher = { name: m[1]!, value: unquote(m[3]!.trim()), isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
  validateMatcher(matcher);
  return matcher;
}

/** Parses a list of matcher strings, or one `{a="b", c=~"d"}` / `a=b,c=~d` string. */
export function parseMatchers(input: string | readonly string[]): Matcher[] {
  const list = typeof input === 'string' ? splitMatchers(input) : input;
  if (list.length > MAX_MATCHERS) throw new MatcherError(`too many matchers (${list.length}; at most ${MAX_MATCHERS})`);
  return list.map(parseMatcher);
}

/** Matchers from a receiver's `match: { label: value }` map, or its `matchRe` map with `regex` (docs/states-and-alerts.md). */
export function matchersFromMap(map: Readonly<Record<string, string>>, opts: { regex?: boolean } = {}): Matcher[] {
  const isRegex = opts.regex ?? false;
  const out = Object.entries(map).map(([name, value]): Matcher => ({ name, value, isRegex, isEqual: true }));
  out.forEach(validateMatcher);
  return out;
}

/** Checks a matcher that arrived as an object (silence API, store); throws MatcherError. */
export function validateMatcher(m: Matcher): void {
  if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.value !== 'string' || typeof m.isRegex !== 'boolean' || typeof m.isEqual !== 'boolean') {
    throw new MatcherError('a matcher is { name: string, value: string, isRegex: boolean, isEqual: boolean }');
  }
  if (!LABEL_NAME_PATTERN.test(m.name)) throw new MatcherError(`invalid label name ${JSON.stringify(clip(m.name))}: letters, digits and _.- (max 64), not starting with a digit`);
  if (!m.isRegex) {
    if (m.value.length > MAX_MATCHER_VALUE_LENGTH) throw new MatcherError(`value of ${m.name} is too long (${m.value.length}; at most ${MAX_MATCHER_VALUE_LENGTH})`);
    return;
  }
  const problem = regexProblem(m.value);
  if (problem) throw new MatcherError(`regex matcher ${clip(formatMatcher(m))}: ${problem}`);
}

/** True when every matcher matches the labels (an empty list matches everything). */
export function matches(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) if (!matchOne(m, labels[m.name] ?? '')) return false;
  return true;
}

/** Whether one matcher matches a label value; one whose regex does not compile matches nothing, `!~` included. */
export function matchOne(m: Matcher, value: string): boolean {
  if (!m.isRegex) return (value === m.value) === m.isEqual;
  const re = compiled(m.value);
  return re !== NEVER && re.test(value) === m.isEqual;
}

export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

// ---------------------------------------------------------------- internals

/** Compiled regexes by source, NEVER for one that does not compile; bounded so hostile input cannot grow it without limit. */
const REGEX_CACHE_MAX = 1024;
const regexCache = new Map<string, FullMatchRegex>();
const NEVER: FullMatchRegex = { test: () => false };

/**
 * Matching never throws: a pattern that does not compile (only a stored one can, written
 * before matchers used RE2) matches no value, so a broken silence mutes nothing instead of
 * failing every flush.
 */
function compiled(source: string): FullMatchRegex {
  let re = regexCache.get(source);
  if (!re) {
    re = compileOrNever(source);
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

function compileOrNever(source: string): FullMatchRegex {
  try {
    return compileRegex(source);
  } catch (err) {
    if (err instanceof RegexSyntaxError) return NEVER;
    throw err;
  }
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      throw new MatcherError(`invalid quoted value ${clip(v)}`);
    }
  }
  return v;
}

/** Splits `{a="b", c=~"d,e"}` on commas outside quotes. */
function splitMatchers(input: string): string[] {
  let s = input.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quoted) throw new MatcherError('unterminated quoted value');
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
