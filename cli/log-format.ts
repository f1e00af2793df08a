import { usageError } from './args.js';
import { LOG_FORMATS, type LogFormat } from '../shared/log-pretty.js';

export const LOG_FORMAT_HELP = `--log-format json|pretty  log lines as JSON or for people (default: pretty on a terminal,
                          JSON otherwise; or set LLM_HEALTH_LOG_FORMAT)`;

/**
 * `--log-format`, else LLM_HEALTH_LOG_FORMAT, else undefined (the logger decides by whether
 * its output is a terminal). A value that is neither is a usage error, not silently JSON.
 */
export function logFormatOption(command: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogFormat | undefined {
  const [value, source] = flag !== undefined ? [flag, '--log-format'] : [env.LLM_HEALTH_LOG_FORMAT || undefined, 'LLM_HEALTH_LOG_FORMAT'];
  if (value === undefined) return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(value)) throw usageError(`${command}: ${source} must be json or pretty, got ${JSON.stringify(value)}`);
  return value as LogFormat;
}
