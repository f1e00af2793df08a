import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ConfigIssue } from '../errors.js';

/** Schema node for a PEM file path (relative paths: against the config file's directory). */
export const pemFile = { type: 'string', minLength: 1, 'x-expect': 'a path to a PEM file' } as const;

/** The PEM material of one TLS identity: a certificate chain with its key, and/or CA certificates. */
export interface PemFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/**
 * Reads the given PEM files (`at` is the config key path of the mapping holding them) and
 * checks that OpenSSL accepts them together, so a wrong or unreadable file stops the start
 * with the key that names it instead of failing on the first connection.
 */
export function readPemFiles(base: string, paths: Partial<Record<keyof PemFiles, string>>, at: string, issues: ConfigIssue[]): PemFiles {
  const out: PemFiles = {};
  let readable = true;
  for (const key of ['cert', 'key', 'ca'] as const) {
    const given = paths[key];
    if (given === undefined) continue;
    try {
      out[key] = readFileSync(resolve(base, given), 'utf8');
    } catch (err) {
      readable = false;
      issues.push({ path: `${at}.${key}`, message: `cannot read ${JSON.stringify(given)}: ${(err as Error).message}` });
    }
  }
  if (!readable) return out;
  const problem = pemProblem(out);
  if (problem) issues.push({ path: `${at}.${problem.key}`, message: `expected ${problem.expected}: ${problem.reason}` });
  return out;
}

/** What OpenSSL says about the files, blamed on the key most likely at fault. */
export function pemProblem(pem: PemFiles): { key: keyof PemFiles; expected: string; reason: string } | undefined {
  const checks: [keyof PemFiles, string, PemFiles][] = [
    ['ca', 'PEM CA certificate(s)', { ca: pem.ca }],
    ['cert', 'a PEM certificate', { cert: pem.cert }],
    ['key', 'the PEM private key of the certificate in cert', { cert: pem.cert, key: pem.key }],
  ];
  for (const [key, expected, options] of checks) {
    if (options[key] === undefined) continue;
    if (key === 'ca' && !/-----BEGIN CERTIFICATE-----/.test(pem.ca!)) return { key, expected, reason: 'no BEGIN CERTIFICATE block found' };
    try {
      createSecureContext(options);
    } catch (err) {
      return { key, expected, reason: (err as Error).message };
    }
  }
  return undefined;
}
