import { readFileSync } from 'node:fs';
import { Agent, setGlobalDispatcher } from 'undici';
import { usageError } from './args.js';

export const CLIENT_CERT_ENV = 'LLM_HEALTH_CLIENT_CERT';
export const CLIENT_KEY_ENV = 'LLM_HEALTH_CLIENT_KEY';

export interface ClientCertificate {
  cert: Buffer;
  key: Buffer;
}

/**
 * The client certificate the commands that talk to a coordinator present over https:// and
 * wss:// (a coordinator with `tls.clientCerts` wants one): PEM files named by
 * LLM_HEALTH_CLIENT_CERT and LLM_HEALTH_CLIENT_KEY, both or neither, like the CA that
 * NODE_EXTRA_CA_CERTS names. Requests made with fetch present it from here on; the feed's
 * WebSocket takes the returned pair. Undefined when neither is set.
 */
export function presentClientCertificate(command: string, env: NodeJS.ProcessEnv): ClientCertificate | undefined {
  const certFile = env[CLIENT_CERT_ENV] || undefined;
  const keyFile = env[CLIENT_KEY_ENV] || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw usageError(`${command}: set both ${CLIENT_CERT_ENV} and ${CLIENT_KEY_ENV} (the client certificate and its private key), or neither`);
  const pair = { cert: readPem(command, CLIENT_CERT_ENV, certFile), key: readPem(command, CLIENT_KEY_ENV, keyFile) };
  setGlobalDispatcher(new Agent({ connect: pair }));
  return pair;
}

function readPem(command: string, variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usageError(`${command}: ${variable}: cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
