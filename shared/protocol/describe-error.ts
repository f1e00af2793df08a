import type { ErrorObject } from 'ajv';

/**
 * Ajv's first error as `/events/0/seq must be integer`, a short reason safe to log: it names
 * the offending path and rule, never the value (messages come from the network and may carry
 * anything); property names are quoted and clipped. Shared by parse.ts and fit.ts, which must
 * not load ajv itself.
 */
export function describeAjvError(error: ErrorObject | undefined): string {
  if (!error) return 'invalid message';
  const where = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty?: unknown }).additionalProperty ?? '');
    return `${where} has unknown key ${JSON.stringify(key.slice(0, 32))}`;
  }
  return `${where} ${error.message ?? 'is invalid'}`;
}
