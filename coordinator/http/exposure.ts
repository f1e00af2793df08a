import type { CoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { isLoopbackHost } from '../../shared/net/loopback.js';

/** Start-up warnings about who can reach what, for a listener other machines can connect to. */
export function exposureWarnings(config: Pick<CoordinatorConfig, 'listen' | 'auth' | 'tls'>): string[] {
  if (isLoopbackHost(config.listen.host)) return [];
  const where = `listen ${config.listen.host}:${config.listen.port} is reachable from other machines`;
  const out: string[] = [];
  if (config.auth.viewerTokens.length === 0) out.push(`${where} and the read API is open: anyone who can connect sees the fleet; set auth.viewerTokens to require a token`);
  if (!config.tls) out.push(`${where} without TLS: agent and API tokens travel in clear text; set tls.cert and tls.key (or put a TLS proxy in front)`);
  return out;
}
