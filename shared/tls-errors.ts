/**
 * Node reports certificate trouble through OpenSSL's verify codes (`err.code`). Agent and CLI
 * both turn them into one sentence that says what went wrong and what to configure.
 */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** A human reason for a TLS failure, or undefined when `err` is not one. */
export function describeTlsError(err: unknown, trustHint: string): string | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const detail = code ? `${code}: ${message}` : message;
  if (UNTRUSTED.has(code)) return `the server certificate is not trusted (${detail}); ${trustHint}`;
  if (EXPIRED.has(code)) return `the server certificate is not valid now (${detail})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `hostname mismatch: the server certificate does not name this host (${detail})`;
  // alerts sent by the server, e.g. "certificate required" when it wants a client certificate
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /\b(?:ssl|tls)v?\d*\b.*alert|certificate/i.test(message)) return `TLS handshake failed (${detail})`;
  return undefined;
}
