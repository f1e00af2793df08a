/**
 * Unit files for the service-manager stand-in: the subset of systemd's syntax that the
 * stand-in honours, read and written so that the same file also works under real systemd.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { unitFile, unitsDir } from './paths.js';

export type RestartPolicy = 'no' | 'on-success' | 'on-failure' | 'on-abnormal' | 'on-abort' | 'always';
const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'always'];

export interface UnitDefinition {
  name: string;
  path: string;
  description: string;
  /** ExecStart= split into argv, specifiers expanded; `$VAR` is expanded at start time */
  execStart: string[];
  /** `-` prefix: a failing exit status is not a failure */
  ignoreFailure: boolean;
  environment: Record<string, string>;
  workingDirectory?: string;
  restart: RestartPolicy;
  restartSecMs: number;
  timeoutStopMs: number;
  startLimitIntervalMs: number;
  startLimitBurst: number;
}

export interface WriteUnitOptions {
  execStart: string[];
  env?: Record<string, string>;
  workingDirectory?: string;
  restart?: RestartPolicy;
  /** milliseconds, or a systemd time span such as `500ms` */
  restartSec?: number | string;
  timeoutStopSec?: number | string;
  startLimitBurst?: number;
  startLimitIntervalSec?: number | string;
  description?: string;
}

/**
 * Defaults. TimeoutStopSec is 5 s rather than systemd's 90 s so a stubborn test process
 * cannot hold a test for a minute and a half; the rest are systemd's own defaults.
 */
export const DEFAULT_TIMEOUT_STOP_MS = 5_000;
/**
 * How long a start may take to reach "process started" (a node process, on a busy 2-core
 * box) before the stand-in fails it; `systemctl show` prints it as TimeoutStartUSec.
 */
export const START_TIMEOUT_MS = 20_000;
export const DEFAULT_RESTART_SEC_MS = 100;
export const DEFAULT_START_LIMIT_INTERVAL_MS = 10_000;
export const DEFAULT_START_LIMIT_BURST = 5;

const UNIT_SUFFIXES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];
/** systemd's valid unit-name characters; anything else is escaped, so it never names a file. */
const VALID_NAME_RE = /^[A-Za-z0-9:_.@-]+\.[a-z]+$/;

export interface MangledName {
  name: string;
  /** set when the input had to be escaped (systemctl warns and then looks the result up) */
  escapedFrom?: string;
}

/**
 * What systemctl does to a name on its command line: append `.service` when there is no unit
 * suffix, and escape characters that cannot be in a unit name (so `x; rm -rf /` becomes a
 * harmless, unknown name rather than a path or a shell word).
 */
export function mangleUnitName(raw: string): MangledName {
  const hasSuffix = UNIT_SUFFIXES.some((s) => raw.endsWith(`.${s}`));
  if (/^[A-Za-z0-9:_.@-]+$/.test(raw) && raw.length > 0) return { name: hasSuffix ? raw : `${raw}.service` };
  let escaped = '';
  for (const ch of raw) {
    if (ch === '/') escaped += '-';
    else if (/[A-Za-z0-9:_.@-]/.test(ch)) escaped += ch;
    else for (const b of Buffer.from(ch)) escaped += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return { name: hasSuffix ? escaped : `${escaped}.service`, escapedFrom: raw };
}

export function isLoadableUnitName(name: string): boolean {
  return VALID_NAME_RE.test(name) && name.endsWith('.service') && name.length <= 255;
}

/** Reads `<dir>/units/<name>`; null when there is no such unit (systemd's "not found"). */
export function readUnit(dir: string, name: string): UnitDefinition | null {
  if (!isLoadableUnitName(name)) return null;
  const path = unitFile(dir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  return parseUnit(name, path, text);
}

export function parseUnit(name: string, path: string, text: string): UnitDefinition {
  const unit: UnitDefinition = {
    name,
    path,
    description: name,
    execStart: [],
    ignoreFailure: false,
    environment: {},
    restart: 'no',
    restartSecMs: DEFAULT_RESTART_SEC_MS,
    timeoutStopMs: DEFAULT_TIMEOUT_STOP_MS,
    startLimitIntervalMs: DEFAULT_START_LIMIT_INTERVAL_MS,
    startLimitBurst: DEFAULT_START_LIMIT_BURST,
  };
  let section = '';
  for (const [key, rawValue] of logicalLines(text)) {
    if (key.startsWith('[')) {
      section = key;
      continue;
    }
    const value = expandSpecifiers(rawValue, name);
    if (section === '[Unit]') {
      if (key === 'Description') unit.description = value;
      else if (key === 'StartLimitIntervalSec') unit.startLimitIntervalMs = parseTimeSpan(value, DEFAULT_START_LIMIT_INTERVAL_MS);
      else if (key === 'StartLimitBurst') unit.startLimitBurst = parseIntOr(value, DEFAULT_START_LIMIT_BURST);
    } else if (section === '[Service]') {
      switch (key) {
        case 'ExecStart': {
          if (value.trim() === '') {
            unit.execStart = [];
            break;
          }
          const { argv, ignoreFailure } = splitExecLine(value);
          unit.execStart = argv;
          unit.ignoreFailure = ignoreFailure;
          break;
        }
        case 'Environment':
          if (value.trim() === '') unit.environment = {};
          for (const word of splitWords(value)) {
            const eq = word.indexOf('=');
            if (eq > 0) unit.environment[word.slice(0, eq)] = word.slice(eq + 1);
          }
          break;
        case 'WorkingDirectory':
          unit.workingDirectory = value.startsWith('~') ? join(homedir(), value.slice(1)) : value.replace(/^-/, '');
          break;
        case 'Restart':
          if ((RESTART_POLICIES as readonly string[]).includes(value)) unit.restart = value as RestartPolicy;
          break;
        case 'RestartSec':
          unit.restartSecMs = parseTimeSpan(value, DEFAULT_RESTART_SEC_MS);
          break;
        case 'TimeoutStopSec':
          unit.timeoutStopMs = parseTimeSpan(value, DEFAULT_TIMEOUT_STOP_MS);
          break;
        // accepted in [Service] by older systemd versions, still honoured by current ones
        case 'StartLimitInterval':
        case 'StartLimitIntervalSec':
          unit.startLimitIntervalMs = parseTimeSpan(value, DEFAULT_START_LIMIT_INTERVAL_MS);
          break;
        case 'StartLimitBurst':
          unit.startLimitBurst = parseIntOr(value, DEFAULT_START_LIMIT_BURST);
          break;
        default:
          break; // systemd warns about unknown keys and goes on; so does the stand-in
      }
    }
  }
  return unit;
}

/** Writes `<dir>/units/<name>` (`.service` appended when missing) and returns its path. */
export function writeUnit(dir: string, name: string, options: WriteUnitOptions): string {
  const unitName = name.endsWith('.service') ? name : `${name}.service`;
  if (!isLoadableUnitName(unitName)) throw new Error(`invalid unit name ${JSON.stringify(name)}`);
  const [exe] = options.execStart;
  if (!exe) throw new Error('execStart needs at least the program');
  // systemd reads these as prefixes (`-`, `@`, ...) and rejects relative paths with a slash
  if (/^[-@+!:]/.test(exe) || (exe.includes('/') && !exe.startsWith('/'))) {
    throw new Error(`execStart[0] must be an absolute path or a program name, got ${JSON.stringify(exe)}`);
  }
  const lines = ['[Unit]', `Description=${options.description ?? unitName}`];
  if (options.startLimitBurst !== undefined) lines.push(`StartLimitBurst=${options.startLimitBurst}`);
  if (options.startLimitIntervalSec !== undefined) lines.push(`StartLimitIntervalSec=${timeSpanValue(options.startLimitIntervalSec)}`);
  lines.push('', '[Service]', 'Type=simple', `ExecStart=${options.execStart.map(quoteExecArg).join(' ')}`);
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    lines.push(`Environment=${quoteWord(`${k}=${v}`)}`);
  }
  if (options.workingDirectory) lines.push(`WorkingDirectory=${options.workingDirectory.replace(/%/g, '%%')}`);
  if (options.restart) lines.push(`Restart=${options.restart}`);
  if (options.restartSec !== undefined) lines.push(`RestartSec=${timeSpanValue(options.restartSec)}`);
  if (options.timeoutStopSec !== undefined) lines.push(`TimeoutStopSec=${timeSpanValue(options.timeoutStopSec)}`);
  mkdirSync(unitsDir(dir), { recursive: true });
  const path = unitFile(dir, unitName);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, path);
  return path;
}

function timeSpanValue(v: number | string): string {
  return typeof v === 'number' ? `${Math.round(v)}ms` : v;
}

/** Key/value pairs of a unit file, with comments dropped and `\`-continued lines joined. */
function* logicalLines(text: string): Generator<[string, string]> {
  let pending = '';
  for (const physical of text.split(/\r?\n/)) {
    const line = pending ? `${pending} ${physical.trimStart()}` : physical.trim();
    if (line.endsWith('\\') && !line.endsWith('\\\\')) {
      pending = line.slice(0, -1);
      continue;
    }
    pending = '';
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      yield [line, ''];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    yield [line.slice(0, eq).trim(), line.slice(eq + 1).trim()];
  }
}

/** `%%` and the name specifiers; systemd expands these before splitting words. */
function expandSpecifiers(value: string, unitName: string): string {
  const prefixed = unitName.replace(/\.service$/, '');
  const at = prefixed.indexOf('@');
  const prefix = at >= 0 ? prefixed.slice(0, at) : prefixed;
  const instance = at >= 0 ? prefixed.slice(at + 1) : '';
  return value.replace(/%(.)/g, (whole, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'n':
        return unitName;
      case 'N':
        return prefixed;
      case 'p':
        return prefix;
      case 'i':
      case 'I':
        return instance;
      case 'h':
        return homedir();
      case 'u':
        return process.env.USER ?? '';
      case 't':
        return process.env.XDG_RUNTIME_DIR ?? '/run';
      default:
        return whole;
    }
  });
}

const C_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'", ';': ';' };

/**
 * systemd's word splitting (extract_first_word with UNQUOTE|CUNESCAPE): whitespace separates,
 * single and double quotes group, C escapes are decoded. No globbing, no shell.
 */
export function splitWords(line: string): string[] {
  return splitWordsRaw(line).map((w) => w.value);
}

/** Words with their source text, so a bare `;` can be told from an escaped `\;`. */
function splitWordsRaw(line: string): { value: string; raw: string }[] {
  const words: { value: string; raw: string }[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let word = '';
    let quote: string | null = null;
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (quote) {
        if (ch === quote) quote = null;
        else if (ch === '\\') i = unescapeAt(line, i, (s) => (word += s));
        else word += ch;
        continue;
      }
      if (/\s/.test(ch)) break;
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\') i = unescapeAt(line, i, (s) => (word += s));
      else word += ch;
    }
    words.push({ value: word, raw: line.slice(start, i) });
  }
  return words;
}

/** Decodes the escape starting at `line[i]` (a backslash); returns the index of its last character. */
function unescapeAt(line: string, i: number, emit: (s: string) => void): number {
  const next = line[i + 1];
  if (next === undefined) return i;
  if (next in C_ESCAPES) {
    emit(C_ESCAPES[next]!);
    return i + 1;
  }
  if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
    emit(String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16)));
    return i + 3;
  }
  emit(next);
  return i + 1;
}

/** Splits an ExecStart= value: prefixes on the first word, a bare `;` ends the command. */
export function splitExecLine(value: string): { argv: string[]; ignoreFailure: boolean } {
  const argv: string[] = [];
  for (const w of splitWordsRaw(value)) {
    if (w.raw === ';') break;
    argv.push(w.value);
  }
  let ignoreFailure = false;
  if (argv.length) {
    let first = argv[0]!;
    while (/^[-@+!:]/.test(first)) {
      if (first[0] === '-') ignoreFailure = true;
      first = first.slice(1);
    }
    argv[0] = first;
  }
  return { argv, ignoreFailure };
}

/**
 * Environment substitution at start time, as systemd does it: a word that is exactly `$NAME`
 * becomes the value split at whitespace, `${NAME}` is replaced inside a word, `$$` is `$`.
 */
export function substituteEnv(argv: string[], env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const word of argv) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) {
      out.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    out.push(word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name?: string) => (m === '$$' ? '$' : env[name!] ?? '')));
  }
  return out;
}

/** One argv element in a form that splitWords, specifier and `$` expansion give back unchanged. */
export function quoteExecArg(arg: string): string {
  if (arg === ';') return '\\;';
  return quoteWord(arg.replace(/\$/g, '$$$$'));
}

function quoteWord(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '%') out += '%%';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * systemd time spans: `90`, `5s`, `500ms`, `1min 30s`, `infinity`. A bare number is seconds.
 * Unparseable values fall back to the default, as systemd ignores a bad assignment.
 */
export function parseTimeSpan(value: string, fallbackMs: number): number {
  const v = value.trim();
  if (v === 'infinity') return Number.POSITIVE_INFINITY;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const units: Record<string, number> = {
    us: 0.001, usec: 0.001, ms: 1, msec: 1, s: 1000, sec: 1000, second: 1000, seconds: 1000,
    m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000, d: 86_400_000, day: 86_400_000, days: 86_400_000,
  };
  let total = 0;
  let rest = v;
  while (rest.length) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)/.exec(rest);
    if (!m || units[m[2]!] === undefined) return fallbackMs;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length).trimStart();
  }
  return total;
}

/** systemd's format_timespan for the values the stand-in shows (`5s`, `1min 30s`, `100ms`). */
export function formatTimeSpan(ms: number): string {
  if (!Number.isFinite(ms)) return 'infinity';
  if (ms === 0) return '0';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

function parseIntOr(value: string, fallback: number): number {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}
