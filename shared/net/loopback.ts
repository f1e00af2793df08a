import { isIP } from 'node:net';

/**
 * Whether a host name or address only reaches this machine. Used for the start-up warnings
 * (a non-loopback coordinator without TLS, an agent sending its token over plain ws://):
 * traffic that never leaves the host needs no transport security.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}
