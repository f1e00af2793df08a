import { readFileSync } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { CoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { pemProblem, type PemFiles } from '../../shared/config/tls-files.js';
import type { Logger } from '../../shared/logger.js';

type TlsConfig = NonNullable<CoordinatorConfig['tls']>;

/** Reads the PEM files now; throws an Error naming the file that failed. */
export function readTlsFiles(tls: TlsConfig): PemFiles {
  const out: PemFiles = {};
  for (const key of ['cert', 'key', 'ca'] as const) {
    const path = tls[key];
    if (path === undefined) continue;
    try {
      out[key] = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`tls.${key}: cannot read ${path}: ${(err as Error).message}`);
    }
  }
  const problem = pemProblem(out);
  if (problem) throw new Error(`tls.${problem.key}: ${tls[problem.key]}: expected ${problem.expected}: ${problem.reason}`);
  return out;
}

/**
 * node:https options. With `clientCerts: optional` the handshake lets clients without a
 * certificate in, so a presented certificate that does not verify is refused afterwards
 * (see refuseUnverifiedClients) instead of being silently ignored.
 */
export function httpsOptions(tls: TlsConfig): ServerOptions {
  return { ...readTlsFiles(tls), requestCert: tls.clientCerts !== 'none', rejectUnauthorized: tls.clientCerts === 'required' };
}

export function refuseUnverifiedClients(server: HttpsServer, logger: Logger): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) return;
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return;
    logger.warn({ remote: socket.remoteAddress, err: String(socket.authorizationError) }, 'refused a client certificate that does not verify against tls.ca');
    socket.destroy();
  });
}

/**
 * Re-reads cert, key and CA (SIGHUP: renewed certificates) and swaps them in for new
 * handshakes; open connections keep theirs. A file that cannot be used leaves the old
 * context in place, so a half-written renewal never takes the listener down.
 */
export function reloadTls(server: HttpsServer, tls: TlsConfig, logger: Logger): boolean {
  let files: PemFiles;
  try {
    files = readTlsFiles(tls);
  } catch (err) {
    logger.error({ err: (err as Error).message }, `TLS reload failed, still serving the previous certificate: ${(err as Error).message}`);
    return false;
  }
  server.setSecureContext(files);
  logger.info({ cert: tls.cert }, 'TLS certificate reloaded');
  return true;
}
