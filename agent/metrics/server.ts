import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as PromClient from 'prom-client';
import type { AgentMetricsConfig } from '../../shared/config/agent-metrics.js';
import type { Logger } from '../../shared/logger.js';
import { registerAgentMetrics, type AgentMetrics, type AgentMetricsSources } from './collectors.js';

export interface MetricsEndpoint extends AgentMetrics {
  /** the bound port (the configured one; tests may ask for 0) */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The agent's `GET /metrics`, nothing else. prom-client is imported here, at run time, so an
 * agent without `metrics.listen` never loads it (memory: bench/README.md).
 */
export async function startMetricsEndpoint(config: AgentMetricsConfig, sources: () => AgentMetricsSources, logger: Logger): Promise<MetricsEndpoint> {
  let prom: typeof PromClient;
  try {
    prom = await import('prom-client');
  } catch (err) {
    throw new Error(`metrics.listen: cannot load prom-client (${(err as Error).message}); the one-file agent needs it installed beside it (npm install prom-client in its directory)`);
  }
  const registry = new prom.Registry();
  const metrics = registerAgentMetrics(prom, registry, sources);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8', ...(path === '/metrics' ? { Allow: 'GET, HEAD' } : {}) });
      res.end(path === '/metrics' ? 'use GET\n' : 'only /metrics here\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
        res.end(body);
      },
      (err: unknown) => {
        logger.error({ err: (err as Error)?.message }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('collecting metrics failed\n');
      },
    );
  });
  // a scraper that stops mid-request must not hold a socket (and the agent's memory) for long
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'metrics server error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.host, port }, `metrics on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/metrics`);
  return {
    ...metrics,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
