import type { Registry } from 'prom-client';
import type { Router } from './router.js';

/**
 * `GET /metrics`: Prometheus text exposition. A viewer route: it names every host and
 * service and says which are down, which is what the read API shows too.
 */
export function registerMetricsRoute(router: Router, registry: Registry): void {
  router.add('GET', '/metrics', 'viewer', async ({ res }) => {
    const body = await registry.metrics();
    res.writeHead(200, {
      'Content-Type': registry.contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  });
}
