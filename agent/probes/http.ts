import { createHttpClient, snippet } from './http-client.js';
import { failedAttempt } from './common.js';
import type { ProbeAttempt, ProbeContext, ProbeFactory, ProbeLevel } from './types.js';

/**
 * Any HTTP endpoint: `GET path` (default `/health`) must answer `expectStatus` (default 200)
 * and, when `expectBody` is set, contain it. 429 still means busy, whatever the server.
 */
export const createHttpProbe: ProbeFactory = (service, deps) => {
  const http = createHttpClient(deps);
  const path = service.path ?? '/health';
  const expectStatus = service.expectStatus ?? 200;

  async function check(level: ProbeLevel, baseUrl: string, ctx: ProbeContext): Promise<ProbeAttempt> {
    const reply = await http.request({ url: baseUrl + path, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    if (!reply.ok) return failedAttempt(level, baseUrl, path, reply);
    const base = { level, url: baseUrl, latencyMs: reply.latencyMs, status: reply.status };
    if (reply.status !== expectStatus) {
      const outcome = reply.status === 429 ? 'busy' : 'http_error';
      const said = snippet(reply.body, 80);
      return { ...base, outcome, detail: `${path}: HTTP ${reply.status}, expected ${expectStatus}${said ? `: ${said}` : ''}` };
    }
    if (service.expectBody !== undefined && !reply.body.includes(service.expectBody)) {
      return { ...base, outcome: 'bad_response', detail: `${path}: body lacks ${JSON.stringify(service.expectBody)}` };
    }
    return { ...base, outcome: 'ok', detail: `${path}: HTTP ${reply.status}` };
  }

  return {
    kind: 'http',
    readyIsAlive: true,
    alive: (baseUrl, ctx) => check('alive', baseUrl, ctx),
    ready: (baseUrl, ctx) => check('ready', baseUrl, ctx),
  };
};
