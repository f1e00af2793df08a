import { RE2JS } from 're2js';

/**
 * Regexes that users write into silences and receiver routes, evaluated with RE2 semantics
 * (re2js, a JavaScript port of RE2). JavaScript's own RegExp backtracks: `.*` written 18
 * times before a literal the value lacks takes years on a 40-character label, and a silence
 * is stored, so it would stall the coordinator again after every restart. RE2 matches in
 * time linear in the input, whatever the pattern, and refuses the constructs that need
 * backtracking (backreferences, lookaround).
 *
 * Matching is against the whole value, as Alertmanager's `^(?:re)$`. The pattern is
 * compiled as given, not wrapped in `^(?:…)$`, so a `)` in it cannot close a wrapper
 * group and leave part of the pattern unanchored (`a)|(b`).
 */

/** Longest regex accepted; RE2 bounds the compiled program too, this keeps error messages and logs short. */
export const MAX_REGEX_LENGTH = 256;

export interface FullMatchRegex {
  /** true when the regex matches all of `value` */
  test(value: string): boolean;
}

export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexSyntaxError';
  }
}

/** Compiles an RE2 pattern; throws RegexSyntaxError saying what is wrong or unsupported. */
export function compileRegex(source: string): FullMatchRegex {
  if (source.length > MAX_REGEX_LENGTH) throw new RegexSyntaxError(`too long (${source.length} characters; at most ${MAX_REGEX_LENGTH})`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    throw new RegexSyntaxError(explain((err as Error).message));
  }
  return { test: (value) => re.testExact(value) };
}

/** Why `source` is not an acceptable regex, or null when it is. */
export function regexProblem(source: string): string | null {
  try {
    compileRegex(source);
    return null;
  } catch (err) {
    if (err instanceof RegexSyntaxError) return err.message;
    throw err;
  }
}

/**
 * The engine's message, with the JavaScript-only constructs people most often bring
 * named: re2js reports a lookbehind as an "invalid named capture", which sends the reader
 * looking in the wrong place.
 */
function explain(engineMessage: string): string {
  const message = engineMessage.replace(/^error parsing regexp: /, '');
  if (/`\(\?<?[=!]/.test(message)) return `lookaround ((?=, (?!, (?<=, (?<!) is not supported in RE2 syntax (${message})`;
  if (/invalid escape sequence: `\\(?:[1-9]|k)/.test(message)) return `backreferences (\\1, \\k<name>) are not supported in RE2 syntax (${message})`;
  return `not valid RE2 syntax: ${message}`;
}
