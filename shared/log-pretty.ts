/**
 * Log lines for a person at a terminal: `12:04:05.123 WARN  llm-health-agent: message key=value`
 * instead of pino's JSON. Files, journald and pipes keep JSON (they are read by programs).
 * A formatter of our own: pino-pretty would pull in a dozen packages for these few lines.
 */
import type { DestinationStream } from 'pino';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO', '32'],
  40: ['WARN', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
/** pino's own fields, and `event`, whose message already says what happened */
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'event', 'v']);
const MAX_VALUE = 160;

function value(v: unknown): string {
  const text = typeof v === 'string' ? (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v) ?? String(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** One JSON log line as one readable line (a line that is not JSON passes unchanged). */
export function prettyLine(json: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const [label, code] = LEVELS[rec.level as number] ?? [String(rec.level ?? '?').toUpperCase(), '0'];
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = color ? `\u001b[${code}m${label.padEnd(5)}\u001b[0m` : label.padEnd(5);
  const extra = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const msg = String(rec.msg ?? '').replace(/\s*\n\s*/g, ' / ');
  return `${[time, level, rec.name ? `${String(rec.name)}:` : '', msg, ...extra].filter(Boolean).join(' ')}\n`;
}

/** A destination that turns pino's JSON lines into pretty ones before `inner` gets them. */
export function prettyDestination(inner: DestinationStream, color: boolean): DestinationStream {
  return { write: (line: string) => inner.write(prettyLine(line.replace(/\n$/, ''), color)) } as DestinationStream;
}
