import { describeTlsError } from '../shared/tls-errors.js';

/**
 * Why a fetch to the coordinator threw. fetch hides the socket error in `cause`; a TLS
 * failure gets a sentence of its own, because "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" alone
 * does not tell an operator that a private CA needs NODE_EXTRA_CA_CERTS.
 */
export function unreachableReason(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs / 1000}s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const tls = describeTlsError(cause, 'to trust a private CA, run with NODE_EXTRA_CA_CERTS=/path/to/ca.crt');
  return tls ?? cause?.code ?? cause?.message ?? (err as Error).message;
}
