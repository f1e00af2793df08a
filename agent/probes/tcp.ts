import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ProbeAttempt, ProbeContext, ProbeFactory, ProbeLevel, ProbeOutcome } from './types.js';

/** A TCP connect and nothing else: for servers with no HTTP health route at all. */
export function tcpConnect(level: ProbeLevel, baseUrl: string, ctx: ProbeContext): Promise<ProbeAttempt> {
  const started = performance.now();
  const done = (outcome: ProbeOutcome, detail: string): ProbeAttempt => ({ level, outcome, url: baseUrl, latencyMs: Math.round(performance.now() - started), detail });
  let host: string;
  let port: number;
  try {
    const u = new URL(baseUrl);
    // URL keeps IPv6 literals bracketed; net.connect wants them bare
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    port = Number(u.port);
    if (!host || !Number.isInteger(port) || port <= 0) throw new TypeError('no host:port');
  } catch {
    return Promise.resolve(done('error', `not a tcp://host:port URL: ${baseUrl}`));
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const finish = (attempt: ProbeAttempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(attempt);
    };
    const onAbort = () => finish(done('timeout', 'aborted'));
    const timer = setTimeout(() => finish(done('timeout', `no connect within ${ctx.timeoutMs}ms`)), Math.max(1, ctx.timeoutMs));
    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(done('ok', `connected to ${host}:${port}`)));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? (err as { errors?: NodeJS.ErrnoException[] }).errors?.[0]?.code;
      if (code === 'ECONNREFUSED') finish(done('refused', 'connect ECONNREFUSED'));
      else if (code === 'ETIMEDOUT') finish(done('timeout', 'connect ETIMEDOUT'));
      else finish(done('error', `connect ${code ?? 'failed'}`));
    });
  });
}

export const createTcpProbe: ProbeFactory = () => ({
  kind: 'tcp',
  readyIsAlive: true,
  alive: (baseUrl, ctx) => tcpConnect('alive', baseUrl, ctx),
  ready: (baseUrl, ctx) => tcpConnect('ready', baseUrl, ctx),
});
