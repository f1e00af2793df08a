import type { Labels, Matcher } from './types.js';

/**
 * Alertmanager-style label matchers: `name=value`, `name!=value`, `name=~regex`,
 * `name!~regex`. Regexes are anchored (`^(?:re)$`). A label that is absent matches as the
 * empty string, so `name=""` means "has no such label".
 *
 * Regexes run on every flush against every alert of a group, so a bad one must not be able
 * to stall the coordinator: patterns are capped in length and, since JavaScript's engine
 * backtracks (Alertmanager's RE2 does not), constructs that can backtrack exponentially are
 * refused: backreferences, lookaround, and a repeated group that itself contains a
 * repetition or an alternation (`(a+)+`, `(a|aa)*`). Label values are bounded by the
 * protocol (256 characters), which bounds the rest.
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
export const MAX_MATCHER_REGEX_LENGTH = 256;
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

/** Equality matchers from a receiver's `match: { label: value }` map (docs/states-and-alerts.md). */
export function matchersFromMap(map: Readonly<Record<string, string>>): Matcher[] {
  const out = Object.entries(map).map(([name, value]): Matcher => ({ name, value, isRegex: false, isEqual: true }));
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
  if (m.value.length > MAX_MATCHER_REGEX_LENGTH) throw new MatcherError(`regex for ${m.name} is too long (${m.value.length}; at most ${MAX_MATCHER_REGEX_LENGTH})`);
  const unsafe = unsafeRegex(m.value);
  if (unsafe) throw new MatcherError(`regex for ${m.name} refused: ${unsafe}`);
  try {
    compile(m.value);
  } catch (err) {
    throw new MatcherError(`regex for ${m.name} does not compile: ${(err as Error).message}`);
  }
}

/** True when every matcher matches the labels (an empty list matches everything). */
export function matches(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) if (!matchOne(m, labels[m.name] ?? '')) return false;
  return true;
}

export function matchOne(m: Matcher, value: string): boolean {
  const hit = m.isRegex ? compile(m.value).test(value) : value === m.value;
  return hit === m.isEqual;
}

export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

// ---------------------------------------------------------------- internals

/** Compiled anchored regexes by source; bounded so hostile input cannot grow it without limit. */
const REGEX_CACHE_MAX = 1024;
const regexCache = new Map<string, RegExp>();

function compile(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(`^(?:${source})$`);
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Why a regex could backtrack exponentially, or null. A conservative syntactic check. */
export function unsafeRegex(src: string): string | null {
  if (/\\[1-9]|\\k</.test(src)) return 'backreferences are not supported';
  if (/\(\?<?[=!]/.test(src)) return 'lookaround is not supported';
  interface Frame {
    repeats: boolean;
    alternation: boolean;
  }
  const stack: Frame[] = [{ repeats: false, alternation: false }];
  let inClass = false;
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      i++;
      continue;
    }
    if (c === '[') {
      // JavaScript: `]` right after `[` or `[^` closes the class (`[]` is empty, `[^]` is any)
      inClass = true;
      i++;
      continue;
    }
    if (c === '(') {
      stack.push({ repeats: false, alternation: false });
      i++;
      continue;
    }
    if (c === ')') {
      const group = stack.length > 1 ? stack.pop()! : { repeats: false, alternation: false };
      i++;
      const q = quantifier(src, i);
      if (q && q.repeats && (group.repeats || group.alternation)) return 'a repeated group may not contain a repetition or alternation (e.g. (a+)+, (a|b)*)';
      if (q) i += q.length;
      const top = stack[stack.length - 1]!;
      top.repeats ||= group.repeats || (q?.repeats ?? false);
      continue;
    }
    if (c === '|') stack[stack.length - 1]!.alternation = true;
    const q = quantifier(src, i);
    if (q) {
      if (q.repeats) stack[stack.length - 1]!.repeats = true;
      i += q.length;
      continue;
    }
    i++;
  }
  return null;
}

/** A quantifier at `i` (with its lazy/possessive suffix): whether it allows more than one repetition. */
function quantifier(src: string, i: number): { repeats: boolean; length: number } | null {
  const c = src[i];
  let length = 0;
  let repeats = false;
  if (c === '*' || c === '+') {
    length = 1;
    repeats = true;
  } else if (c === '?') {
    length = 1;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
    if (!m) return null;
    length = m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    repeats = max > 1;
  } else {
    return null;
  }
  if (src[i + length] === '?') length++;
  return { repeats, length };
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
