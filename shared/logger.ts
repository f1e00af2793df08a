import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { GuardedDestination, type FileDestination } from './log-destination.js';

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
  /** Optional log file written in addition to stdout (SPEC §4 `log.file`). */
  file?: string;
  /** Where stdout-bound lines go; tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: settings.name ?? 'llm-health',
    level: settings.level ?? process.env.LLM_HEALTH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
  };
  const out = settings.destination ?? pino.destination({ dest: 1, sync: true });
  if (!settings.file) return pino(options, out);
  const path = settings.file;
  mkdirSync(dirname(path), { recursive: true });
  // reported through the logger itself, after the write that failed has returned: the line
  // reaches stdout, and the failing file counts it as dropped
  const report = (err: NodeJS.ErrnoException | null, dropped: number) =>
    setImmediate(() => {
      if (err) logger.error({ file: path, code: err.code, err: err.message }, `cannot write the log file ${path} (${err.code ?? err.message}): its lines are dropped (stdout still has them); trying again every 5 s`);
      else logger.warn({ file: path, dropped }, `the log file ${path} takes lines again; ${dropped} line(s) were dropped meanwhile`);
    }).unref();
  const file = new GuardedDestination({ open: () => pino.destination({ dest: path, sync: true, mkdir: true }) as unknown as FileDestination, onTrouble: report });
  const logger = pino(options, pino.multistream([{ stream: out }, { stream: file }]));
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
