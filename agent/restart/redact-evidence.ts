/**
 * Secrets out of restart evidence before it leaves the host (docs/states-and-alerts.md
 * "Evidence and secrets"). Model servers print their command line, their environment and
 * request headers to the journal, so a journal tail taken before a restart can carry API keys
 * and tokens; the agent logs, spools and sends that tail. Every rule here is bounded (no
 * nested quantifiers, every repeat has a ceiling), so a hostile or huge log line costs time
 * proportional to its length.
 */
import type { UnitCommandOutcome, UnitControl } from '../unit-control.js';

/** What a secret becomes: fixed, so nothing about the secret's length or shape survives. */
export const REDACTED = '[REDACTED]';

export type Redactor = (text: string) => string;

interface Rule {
  /** what the rule finds, for the reader of this table */
  name: string;
  re: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

/** Keeps the captured lead-in (`--api-key `, `Bearer `, `user:`), masks what follows it. */
const keepLead = (_match: string, lead: string, value: string): string => (isMasked(value) ? lead + value : lead + REDACTED);
const whole = (): string => REDACTED;

const RULES: readonly Rule[] = [
  // scheme://user:pass@host: the user and the host say where it went, the password goes
  { name: 'password in a URL', re: /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}:)([^\s/@]{1,256})(?=@)/gi, replace: keepLead },
  // the scheme stays (Bearer, Basic): it tells a reader which kind of credential was sent
  {
    name: 'credential header',
    re: /\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|cookie)(["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:(?:bearer|basic|token|digest)[ \t]{1,4})?)([^\s"',;]{1,4096})/gi,
    replace: (_m, header, lead, value) => header + keepLead('', lead, value),
  },
  { name: 'bearer token', re: /\b(bearer[ \t]{1,4})([A-Za-z0-9._~+/=-]{8,4096})/gi, replace: keepLead },
  // vLLM and llama.cpp print their argv: --api-key KEY, --hf-token=TOKEN
  {
    name: 'secret command-line flag',
    re: /(--[A-Za-z0-9_-]{0,40}(?:api[-_]?key|token|secret|password|passwd)(?:=|[ \t]{1,4})["']?)([^\s"'-][^\s"']{0,4095})/gi,
    replace: keepLead,
  },
  { name: 'OpenAI-style key', re: /\bsk-[A-Za-z0-9_-]{16,512}/g, replace: whole },
  { name: 'Hugging Face token', re: /\bhf_[A-Za-z0-9]{20,256}/g, replace: whole },
  { name: 'GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})/g, replace: whole },
  { name: 'AWS access key id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: whole },
  { name: 'Slack token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,255}/g, replace: whole },
  { name: 'JSON web token', re: /\beyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{0,2048}/g, replace: whole },
];

/**
 * `NAME=value` and `"name": "value"`: the name decides, so the regex finds only the name and
 * its separator and the value is read by hand. A name that is not secret consumes nothing
 * beyond its separator, so `Environment=HF_TOKEN=x` still reaches `HF_TOKEN`.
 */
const ASSIGNMENT = /(["']?)\b([A-Za-z_][\w.-]{0,127})\1([ \t]{0,2}[=:][ \t]{0,2})/g;
const QUOTED_VALUE = /(["'])([^"'\n]{1,4096})\1/y;
const BARE_VALUE = /[^\s"',;&(){}[\]<>]{1,4096}/y;
/** after camelCase is split to snake_case: HF_TOKEN, apiKey, DB_PASSWORD, aws_secret_access_key */
const SECRET_NAME = /(?:^|[_.-])(?:api_?key|key|token|secret|password|passwd|pass|pwd|credentials?|auth)$/;
/** tokenizer settings servers print at start-up (eos_token='</s>') are not credentials */
const TOKENIZER_NAME = /(?:^|[_.-])(?:bos|eos|pad|unk|sep|cls|mask)_token$/;
/** values that say "no secret here" and are worth keeping as they are */
const NOT_A_VALUE = /^(?:none|null|nil|undefined|true|false|\*+)$/i;

export function isSecretName(name: string): boolean {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return SECRET_NAME.test(snake) && !TOKENIZER_NAME.test(snake);
}

function redactAssignments(text: string): string {
  let out = '';
  let copied = 0;
  ASSIGNMENT.lastIndex = 0;
  for (let m = ASSIGNMENT.exec(text); m; m = ASSIGNMENT.exec(text)) {
    const [, quote, name, separator] = m;
    // unquoted `name: value` is ordinary prose ("error: …"); only JSON and dict keys count
    if (separator!.includes(':') && !quote) continue;
    if (!isSecretName(name!)) continue;
    const value = valueAt(text, ASSIGNMENT.lastIndex);
    if (!value) continue;
    out += text.slice(copied, value.start) + REDACTED;
    copied = value.end;
    ASSIGNMENT.lastIndex = value.end + value.closing;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** The value starting at `at`: inside its quotes when quoted; null when there is nothing to hide. */
function valueAt(text: string, at: number): { start: number; end: number; closing: number } | null {
  QUOTED_VALUE.lastIndex = at;
  const quoted = QUOTED_VALUE.exec(text);
  if (quoted) return worthHiding(quoted[2]!) ? { start: at + 1, end: at + 1 + quoted[2]!.length, closing: 1 } : null;
  BARE_VALUE.lastIndex = at;
  const bare = BARE_VALUE.exec(text);
  return bare && worthHiding(bare[0]) ? { start: at, end: at + bare[0].length, closing: 0 } : null;
}

function worthHiding(value: string): boolean {
  return !isMasked(value) && !NOT_A_VALUE.test(value) && !value.startsWith('$');
}

function isMasked(value: string): boolean {
  return value.startsWith(REDACTED);
}

/**
 * The built-in rules, then the operator's own patterns (`restart.redact`, already checked to
 * compile when the config was loaded): each of their matches is replaced whole.
 */
export function createRedactor(operatorPatterns: readonly string[] = []): Redactor {
  const extra = operatorPatterns.map((p) => new RegExp(p, 'g'));
  return (text) => {
    let out = text;
    for (const rule of RULES) out = out.replace(rule.re, rule.replace);
    out = redactAssignments(out);
    // a zero-width match (a lookahead alone) has nothing to hide; marking it would litter the text
    for (const re of extra) out = out.replace(re, (m) => (m === '' ? '' : REDACTED));
    return out;
  };
}

/** Every string inside `value` redacted (keys stay: they name fields, not secrets). */
export function redactEvidence<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactEvidence(v, redact)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactEvidence(v, redact)])) as T;
  }
  return value;
}

/**
 * The unit control every consumer sees: evidence and systemctl's own output come back
 * redacted, so the event, the log line and the spool all hold the same cleaned text.
 */
export function redactingUnitControl(units: UnitControl, redact: Redactor): UnitControl {
  // a failure's message becomes evidence too (`{ error }` when the capture itself fails)
  const cleaned = <T>(run: () => Promise<T>): Promise<T> =>
    run().catch((err: unknown) => {
      if (err instanceof Error) err.message = redact(err.message);
      throw err;
    });
  return {
    restart: (unit) => cleaned(async () => redactOutcome(await units.restart(unit), redact)),
    resetFailed: (unit) => cleaned(async () => redactOutcome(await units.resetFailed(unit), redact)),
    show: (unit) => cleaned(() => units.show(unit)),
    captureEvidence: (unit, known) => cleaned(async () => redactEvidence(await units.captureEvidence(unit, known), redact)),
  };
}

function redactOutcome(outcome: UnitCommandOutcome, redact: Redactor): UnitCommandOutcome {
  return { ...outcome, stdout: redact(outcome.stdout), stderr: redact(outcome.stderr) };
}
