import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LlmHealthError, ErrorCode } from '../shared/errors.js';

/** node:util parseArgs with usage errors turned into exit-code-2 errors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new LlmHealthError(ErrorCode.Usage, `${command}: ${(err as Error).message}`);
  }
}

export function usageError(message: string): LlmHealthError {
  return new LlmHealthError(ErrorCode.Usage, message);
}
