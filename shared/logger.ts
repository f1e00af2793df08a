import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { GuardedDestination, openLogFile, type FileDestination } from './log-destination.js';
import { prettyDestination, type LogFormat } from './log-pretty.js';

export type { Logger } from 'pino';

/**
 * Keys whose values are secrets wherever they appear in a log record (up to three levels
 * deep, which covers `config.coordinator.token` and `req.headers.authorization`).
 */
const SECRET_KEYS = ['token', 'tokens', 'password', 'pass', 'authorization', 'secret', 'apiKey', 'webhookUrl', 'agentTokens', 'adminTokens', 'viewerTokens'];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

export interface LoggerSettings {
  name?: string;
  level?: string;
  /** Optional log file written in addition to stdout (docs/configuration.md `log.file`). */
  file?: string;
  /** Where stdout-bound lines go; tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
  /**
   * Of the stdout-bound lines (log.file is always JSON). Default: pretty when they go to a
   * terminal, JSON otherwise (journald, pipes, files).
   */
  format?: LogFormat;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: settings.name ?? 'llm-health',
    level: settings.level ?? process.env.LLM_HEALTH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
  };
  // Neither stdout (when it is a file: `>> log`, StandardOutput=file:) nor log.file may take
  // the process down when their disk fills: each drops its lines while it fails, and the
  // trouble is reported through the logger itself, after the failed write has returned, so
  // the other destination carries the report.
  let logger: Logger | undefined;
  const report = (what: string) => (err: NodeJS.ErrnoException | null, dropped: number) =>
    setImmediate(() => {
      if (err) logger?.error({ destination: what, code: err.code, err: err.message }, `cannot write ${what} (${err.code ?? err.message}): its lines are dropped; trying again every 5 s`);
      else logger?.warn({ destination: what, dropped }, `${what} takes lines again; ${dropped} line(s) were dropped meanwhile`);
    }).unref();
  const guarded = (what: string, open: () => FileDestination) => new GuardedDestination({ open, onTrouble: report(what) });
  const raw = settings.destination ?? guarded('stdout', () => pino.destination({ dest: 1, sync: true }) as unknown as FileDestination);
  const tty = ((settings.destination ?? process.stdout) as { isTTY?: boolean }).isTTY === true;
  const format = settings.format ?? (tty ? 'pretty' : 'json');
  const out = format === 'pretty' ? prettyDestination(raw as DestinationStream, tty && !process.env.NO_COLOR) : raw;
  if (!settings.file) {
    logger = pino(options, out);
    return logger;
  }
  const path = settings.file;
  const file = guarded(`the log file ${path}`, () => openLogFile(path));
  logger = pino(options, pino.multistream([{ stream: out }, { stream: file }]));
  return logger;
}

/** A logger that writes nothing (tests and library callers that pass no logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Webhook URLs carry their secret in the path (Slack, Discord): keep scheme and host so a
 * log line still says where a request went, drop the rest.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hasSecretPart = u.pathname.length > 1 || u.search || u.username || u.password;
    return `${u.protocol}//${u.host}${hasSecretPart ? '/[redacted]' : '/'}`;
  } catch {
    return '[redacted-url]';
  }
}
