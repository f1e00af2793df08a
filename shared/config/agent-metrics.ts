import type { ConfigIssue } from '../errors.js';
import { isLoopbackHost } from '../net/loopback.js';

/** `host:port` with the host spelled out (`[::1]:9101` for IPv6): no "every interface" shorthand. */
const LISTEN_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** The agent's optional Prometheus endpoint (agent/metrics/). */
export const agentMetricsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['listen'],
  properties: {
    listen: { type: 'string', pattern: LISTEN_RE.source, 'x-expect': 'host:port like 127.0.0.1:9101 or [::1]:9101' },
    allowNonLoopback: { type: 'boolean', default: false },
  },
} as const;

export interface AgentMetricsConfig {
  host: string;
  port: number;
}

/**
 * The endpoint has no authentication and tells whoever reads it which model servers run on
 * the host and which are down; the agent usually runs with the right to restart units. So it
 * listens on loopback only (a local Prometheus or grafana-agent scrapes it, or a proxy in
 * front adds TLS and auth) unless `allowNonLoopback: true` says the network is trusted.
 */
export function parseAgentMetrics(raw: { listen: string; allowNonLoopback: boolean } | undefined, issues: ConfigIssue[]): AgentMetricsConfig | undefined {
  if (!raw) return undefined;
  const m = LISTEN_RE.exec(raw.listen);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    issues.push({ path: 'metrics.listen', message: `expected a port from 1 to 65535, got ${JSON.stringify(raw.listen)}` });
    return undefined;
  }
  const host = m[1] ?? m[2]!;
  if (!isLoopbackHost(host) && !raw.allowNonLoopback) {
    issues.push({ path: 'metrics.listen', message: `${host} is not a loopback address: the metrics endpoint has no authentication; listen on 127.0.0.1 (scrape through a proxy) or set metrics.allowNonLoopback: true on a trusted network` });
    return undefined;
  }
  return { host, port };
}
