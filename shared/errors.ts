/**
 * Errors carry a stable `code`; callers branch on the code, never on message text
 * (the undici `UND_ERR_*` convention).
 */
export const ErrorCode = {
  ConfigNotFound: 'LLMH_CONFIG_NOT_FOUND',
  ConfigParse: 'LLMH_CONFIG_PARSE',
  ConfigInvalid: 'LLMH_CONFIG_INVALID',
  Usage: 'LLMH_USAGE',
  UnitNotAllowed: 'LLMH_UNIT_NOT_ALLOWED',
  UnitNameInvalid: 'LLMH_UNIT_NAME_INVALID',
  CommandFailed: 'LLMH_COMMAND_FAILED',
  CommandTimeout: 'LLMH_COMMAND_TIMEOUT',
  ProtocolInvalid: 'LLMH_PROTOCOL_INVALID',
  Unauthorized: 'LLMH_UNAUTHORIZED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class LlmHealthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LlmHealthError';
    this.code = code;
  }
}

/** One configuration problem: where it is and what was expected there. */
export interface ConfigIssue {
  /** Key path like `services[1].url`; empty for the document root. */
  path: string;
  message: string;
}

export class ConfigError extends LlmHealthError {
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[], code: ErrorCode = ErrorCode.ConfigInvalid) {
    super(code, formatConfigIssues(file, issues));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

export function formatConfigIssues(file: string, issues: ConfigIssue[]): string {
  return issues.map((i) => `${file}: ${i.path || '(top level)'}: ${i.message}`).join('\n');
}

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}
