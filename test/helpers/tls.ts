/**
 * Throwaway PKI for TLS tests, made with the openssl CLI (argv only, no shell): a CA, a server
 * certificate for 127.0.0.1 and localhost (SAN), a second server certificate from the same CA
 * (to see a reload take effect), a client certificate, and a self-signed client certificate
 * the CA never signed. Everything lives in one temp dir.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';

export interface TlsFixtures {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** same names and CA, another key and serial: what a renewal looks like */
  renewedCert: string;
  renewedKey: string;
  clientCert: string;
  clientKey: string;
  /** signed by the same CA for another host only (coordinator.example): a hostname mismatch on 127.0.0.1 */
  otherHostCert: string;
  otherHostKey: string;
  /** a self-signed client certificate the CA never signed */
  strangerCert: string;
  strangerKey: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate for `cn` signed by the CA in `dir`, with the given extensions. */
function issue(dir: string, name: string, cn: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-tls-'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=llm-health test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const server = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
  issue(dir, 'server', 'localhost', server);
  issue(dir, 'renewed', 'localhost', server);
  issue(dir, 'other-host', 'coordinator.example', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:coordinator.example\n');
  issue(dir, 'client', 'test-agent', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'stranger.key', '-out', 'stranger.crt', '-days', '2', '-subj', '/CN=stranger'], dir);
  const at = (f: string) => join(dir, f);
  return {
    dir,
    caCert: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    renewedCert: at('renewed.crt'),
    renewedKey: at('renewed.key'),
    otherHostCert: at('other-host.crt'),
    otherHostKey: at('other-host.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.crt'),
    strangerKey: at('stranger.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** SHA-256 fingerprint of a PEM certificate file. */
export function fingerprint(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

/** The fingerprint of the certificate a fresh TLS connection to 127.0.0.1:port is shown (verified against `caFile`). */
export function servedFingerprint(port: number, caFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(caFile) }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}
