import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { parseDuration } from '../duration.js';
import { yamlSyntaxIssues } from './yaml-errors.js';
import { ConfigError, ErrorCode, isErrnoException, type ConfigIssue } from '../errors.js';

/**
 * Loading is three steps, each reporting every problem it finds with the file and the key
 * path: YAML parse, `${VAR}` expansion, schema validation with defaults. Callers get a
 * fully defaulted object they can trust.
 */

/** One ajv instance per process: schemas compile once. */
let sharedAjv: Ajv | undefined;

export function configAjv(): Ajv {
  if (sharedAjv) return sharedAjv;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, allowUnionTypes: true });
  // `duration: true` accepts `2s`/`500ms`/integer ms and rewrites the value to milliseconds.
  // `duration: 'positive'` also refuses 0: a period, timeout or window of nothing is a busy
  // loop or an instant failure, never what the operator meant.
  ajv.addKeyword({
    keyword: 'duration',
    modifying: true,
    schemaType: ['boolean', 'string'],
    errors: true,
    validate: function validateDuration(schema: boolean | 'positive', data: unknown, _parent?: unknown, cxt?: { parentData: Record<string | number, unknown>; parentDataProperty: string | number }) {
      const ms = parseDuration(data);
      const fail = (message: string) => {
        (validateDuration as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'duration', message, params: {} }];
        return false;
      };
      const least = schema === 'positive' ? 'greater than 0' : 'of 0 or more';
      if (ms === undefined && parseDuration(typeof data === 'string' ? data.replace(/^-/, '') : typeof data === 'number' ? -data : undefined) !== undefined) {
        return fail(`expected a duration ${least} (like 500ms, 2s, 5m or 1h), got ${JSON.stringify(data)}`);
      }
      if (ms === undefined) return fail(`expected a duration like 500ms, 2s, 5m, 1h or integer milliseconds, got ${JSON.stringify(data)}`);
      if (schema === 'positive' && ms <= 0) return fail(`expected a duration ${least} (like 500ms, 2s, 5m or 1h), got ${JSON.stringify(data)}`);
      if (cxt) cxt.parentData[cxt.parentDataProperty] = ms;
      return true;
    },
  });
  // `urlSchemes: [...]` accepts an absolute URL with one of the given schemes.
  ajv.addKeyword({
    keyword: 'urlSchemes',
    schemaType: 'array',
    errors: true,
    validate: function validateUrl(schemes: string[], data: unknown) {
      let ok = false;
      if (typeof data === 'string') {
        try {
          const u = new URL(data);
          ok = schemes.includes(u.protocol.replace(/:$/, '')) && u.hostname !== '';
        } catch {
          ok = false;
        }
      }
      if (!ok) {
        (validateUrl as unknown as { errors: Partial<ErrorObject>[] }).errors = [
          { keyword: 'urlSchemes', message: `expected an absolute ${schemes.join('/')} URL like ${schemes[0]}://127.0.0.1:8001, got ${JSON.stringify(data)}`, params: {} },
        ];
      }
      return ok;
    },
  });
  // Human wording for a node, used in error messages ("a systemd unit name like x.service").
  ajv.addKeyword({ keyword: 'x-expect', schemaType: 'string' });
  sharedAjv = ajv;
  return ajv;
}

/** `log:` section, the same in agent and coordinator configs (docs/configuration.md `log.file`). */
export const logSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    file: { type: 'string', minLength: 1 },
    level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
  },
} as const;

export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const why = isErrnoException(err) && err.code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new ConfigError(file, [{ path: '', message: why }], ErrorCode.ConfigNotFound);
  }
}

export function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(quoteFlowEnvRefs(text), { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(file, yamlSyntaxIssues(text, doc.errors), ErrorCode.ConfigParse);
  return doc.toJS() ?? {};
}

/** `a.b[2].c` from a JSON pointer such as `/a/b/2/c`. */
export function keyPath(pointer: string | (string | number)[]): string {
  const parts = Array.isArray(pointer)
    ? pointer.map(String)
    : pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value. A variable that is unset
 * (and has no default) is an error naming the key that used it.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: (string | number)[] = [], placeholders?: Set<string>): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR_RE, (whole, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      if (placeholders) {
        // kept as written: the key is checked as if the variable held a fitting value
        placeholders.add(keyPath(path));
        return whole;
      }
      issues.push({ path: keyPath(path), message: `environment variable ${name} is not set (used as ${whole})` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, issues, [...path, i], placeholders));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, issues, [...path, k], placeholders);
    return out;
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** Turns ajv's errors into one issue per problem, worded for the person editing the file. */
export function ajvIssues(errors: ErrorObject[] | null | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const base = keyPath(e.instancePath);
    let path = base;
    let message: string;
    const expect = (e.parentSchema as Record<string, unknown> | undefined)?.['x-expect'] as string | undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        path = base ? `${base}.${key}` : key;
        const allowed = Object.keys(((e.parentSchema as { properties?: object })?.properties) ?? {});
        message = `unknown key${allowed.length ? ` (expected one of: ${allowed.join(', ')})` : ''}`;
        break;
      }
      case 'required': {
        const key = (e.params as { missingProperty: string }).missingProperty;
        path = base ? `${base}.${key}` : key;
        message = 'is required';
        break;
      }
      case 'enum':
        message = `expected one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(e.data)}`;
        break;
      case 'type':
        message = `expected ${expect ?? (e.params as { type: string }).type}, got ${describe(e.data)}`;
        break;
      case 'duration':
      case 'urlSchemes':
        message = e.message ?? 'invalid';
        break;
      case 'minItems':
        message = `expected at least ${(e.params as { limit: number }).limit} item(s)${expect ? ` (${expect})` : ''}`;
        break;
      case 'anyOf':
      case 'oneOf':
        // the branch errors say more; keep this only if nothing else names the same path
        message = `expected ${expect ?? 'a different form'}, got ${describe(e.data)}`;
        break;
      default:
        message = expect ? `expected ${expect}, got ${describe(e.data)}` : `${e.message ?? 'invalid'}${e.data !== undefined ? ` (got ${describe(e.data)})` : ''}`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message });
  }
  // An anyOf failure is reported by its branches too; drop the vaguer line when a
  // branch already named the same key.
  return issues.filter((i) => !(i.message.startsWith('expected a different form') && issues.some((o) => o !== i && o.path === i.path)));
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * `config validate --no-env`, `deploy`: a `${VAR}` that is unset stands for a fitting value
   * of its key, so a file can be checked where its secrets are not. The result is then only
   * fit for checking and for reading keys that hold no such reference.
   */
  placeholders?: boolean;
}

/** A parsed document with what the generic steps found; the caller adds its own checks. */
export interface LoadedYaml<T> {
  file: string;
  /** defaults applied where the schema allowed; any shape where it did not */
  raw: T;
  /** environment and schema problems */
  issues: ConfigIssue[];
  /** key paths holding an unset `${VAR}` (placeholder mode only) */
  placeholders: Set<string>;
}

/**
 * Parse, expand and validate one YAML document against a compiled schema. Only a YAML syntax
 * error stops here; everything else is collected, so that finishConfig can report the
 * schema's problems together with the caller's checks.
 */
export function loadYamlConfig<T>(file: string, text: string, validate: ValidateFunction, options: LoadOptions = {}): LoadedYaml<T> {
  const parsed = parseYaml(file, text);
  const envIssues: ConfigIssue[] = [];
  const placeholders = new Set<string>();
  const raw = expandEnv(parsed, options.env ?? process.env, envIssues, [], options.placeholders ? placeholders : undefined);
  const errors = validate(raw) ? [] : (validate.errors ?? []);
  const schemaIssues = ajvIssues(errors.filter((e) => !placeholderFits(e, errors, placeholders)));
  return { file, raw: raw as T, issues: mergeIssues(envIssues, schemaIssues), placeholders };
}

/**
 * A placeholder fits its key when the key takes strings at all: then the failures at its path
 * (a pattern, a URL, a duration) are about the placeholder text, not the file. Where only type
 * errors stand (a number or a boolean key), no variable could ever fill it: that stays.
 */
function placeholderFits(e: ErrorObject, all: ErrorObject[], placeholders: Set<string>): boolean {
  const at = keyPath(e.instancePath);
  if (!placeholders.has(at)) return false;
  return all.some((o) => keyPath(o.instancePath) === at && !['type', 'anyOf', 'oneOf'].includes(o.keyword));
}

/** Issues of later steps are dropped at paths an earlier step already reported. */
export function mergeIssues(...steps: ConfigIssue[][]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const step of steps) {
    const earlier = new Set(out.map((i) => i.path));
    for (const issue of step) {
      const key = `${issue.path}\u0000${issue.message}`;
      if (earlier.has(issue.path) || seen.has(key)) continue;
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

/**
 * Throws every problem found: the generic steps' and the caller's own checks (those at a
 * placeholder's path are about the placeholder text, and dropped).
 */
export function finishConfig(loaded: LoadedYaml<unknown>, checks: ConfigIssue[]): void {
  const issues = mergeIssues(loaded.issues, checks.filter((i) => !loaded.placeholders.has(i.path)));
  if (issues.length) throw new ConfigError(loaded.file, issues);
}

/** A value the schema may have refused, read as a mapping (or an empty one). */
export function asMapping(value: unknown): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

const FLOW_LINE_RE = /^(\s*(?:-\s+)?[A-Za-z0-9_]+:\s*|\s*-\s*)\[([^\]"'#]*)\](\s*(?:#.*)?)$/;
const ENV_ITEM_RE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}"'\\,]*)?\}$/;

/**
 * Operators write `agentTokens: [${AGENT_TOKEN}]` or `- { token: ${GPU_A_TOKEN}, agents: [gpu-a] }`,
 * which are not valid YAML: `{` ends a plain scalar inside a flow collection. On lines holding
 * a one-line flow sequence or mapping, items and values that are exactly one `${VAR}`
 * reference are quoted before parsing, so the documented forms work.
 * Nothing else is touched (quoted strings, comments, block sequences parse as written).
 */
export function quoteFlowEnvRefs(text: string): string {
  if (!text.includes('${')) return text;
  return text
    .split('\n')
    .map((line) => {
      const m = FLOW_LINE_RE.exec(line);
      if (!m || !m[2]!.includes('${')) return quoteFlowMapEnvRefs(line);
      const items = m[2]!.split(',').map((item) => {
        const t = item.trim();
        return ENV_ITEM_RE.test(t) ? item.replace(t, `"${t}"`) : item;
      });
      return `${m[1]}[${items.join(',')}]${m[3]}`;
    })
    .join('\n');
}

/** A one-line flow mapping: `- { token: ${GPU_A_TOKEN}, agents: [gpu-a] }`. */
const FLOW_MAP_LINE_RE = /^\s*(?:-\s+)?(?:[A-Za-z0-9_]+:\s*)?\{.*\}\s*(?:#.*)?$/;
const FLOW_MAP_ENV_VALUE_RE = /([{,]\s*[A-Za-z0-9_]+:\s*)(\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}"'\\,]*)?\})(?=\s*[,}])/g;

/** The same for values of a one-line flow mapping that are exactly one `${VAR}` reference. */
function quoteFlowMapEnvRefs(line: string): string {
  if (!line.includes('${') || !FLOW_MAP_LINE_RE.test(line)) return line;
  return line.replace(FLOW_MAP_ENV_VALUE_RE, (_all, key: string, ref: string) => `${key}"${ref}"`);
}

