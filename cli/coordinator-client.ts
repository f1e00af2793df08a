import { usageError } from './args.js';
import { presentClientCertificate } from './client-certificate.js';
import { unreachableReason } from './unreachable.js';

/**
 * The commands that talk to a coordinator's HTTP API (`silence`, `restart`, `restarts`): one
 * request helper and one mapping of answers to exit codes (docs/cli.md): 0 success, 1 when the
 * coordinator could not do it (unreachable, token refused, unknown id), 2 when it refused what
 * was typed (400).
 */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface CoordinatorClient {
  base: string;
  token: string | undefined;
}

export type Answer = { ok: true; status: number; text: string; body: unknown } | { ok: false; message: string };
export type Success = Extract<Answer, { ok: true }>;
export interface Failure {
  code: number;
  message: string;
}

/**
 * The client from `--url` / `--token` (or LLM_HEALTH_TOKEN), presenting the client certificate
 * from the environment when one is set; a usage error for a URL that is not http(s).
 */
export function coordinatorClient(command: string, url: string, token: string | undefined, env: NodeJS.ProcessEnv, defaultUrl: string): CoordinatorClient {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`${command}: --url expects an http:// or https:// URL like ${defaultUrl}, got ${JSON.stringify(url)}`);
  }
  presentClientCertificate(command, env);
  return { base: url, token: token || env.LLM_HEALTH_TOKEN || undefined };
}

export async function call(client: CoordinatorClient, method: string, path: string, body?: unknown): Promise<Answer> {
  const url = new URL(path, client.base);
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(client.token ? { authorization: `Bearer ${client.token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: timeout,
    });
  } catch (err) {
    const why = unreachableReason(err, timeout.aborted, REQUEST_TIMEOUT_MS);
    return { ok: false, message: `cannot reach the coordinator at ${url.origin}: ${why}` };
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { ok: true, status: res.status, text, body: parsed };
}

/** The exit code and message for an answer that is not a success, or undefined. `what`: `silence add`, `restart`, … */
export function failure(what: string, a: Answer, needs: 'admin' | 'viewer'): Failure | undefined {
  if (!a.ok) return { code: 1, message: `${what}: ${a.message}` };
  if (a.status >= 200 && a.status < 300) return undefined;
  const serverMessage = (a.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  const detail = typeof serverMessage === 'string' ? serverMessage : `HTTP ${a.status}`;
  if (a.status === 401 || a.status === 403) {
    return { code: 1, message: `${what}: the coordinator wants ${needs === 'admin' ? 'an admin' : 'a viewer'} token (--token or LLM_HEALTH_TOKEN): ${detail}` };
  }
  // the coordinator refused what was typed: a usage error
  if (a.status === 400) return { code: 2, message: `${what}: ${detail}` };
  return { code: 1, message: `${what}: ${detail}` };
}

export function report(io: { stderr: { write(text: string): unknown } }, f: Failure): number {
  io.stderr.write(`llm-health ${f.message}\n`);
  return f.code;
}
