import type { ClientOptions } from 'ws';
import type { CoordinatorLinkConfig } from '../../shared/config/agent-config.js';
import { isLoopbackHost } from '../../shared/net/loopback.js';
import { describeTlsError } from '../../shared/tls-errors.js';

/** TLS options for one coordinator URL: a configured CA replaces the system store; plain ws:// gets none. */
export function tlsClientOptions(url: string, config: CoordinatorLinkConfig): Pick<ClientOptions, 'ca' | 'cert' | 'key'> {
  if (!url.startsWith('wss:') || !config.tls) return {};
  const { ca, cert, key } = config.tls;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** The plain ws:// URLs that leave this machine: the token and every event travel readable. */
export function plainRemoteUrls(urls: readonly string[]): string[] {
  return urls.filter((u) => {
    const parsed = new URL(u);
    return parsed.protocol === 'ws:' && !isLoopbackHost(parsed.hostname);
  });
}

/** Why a connection attempt failed at the TLS layer, worded for the agent log; undefined if it did not. */
export function tlsFailure(err: unknown, config: CoordinatorLinkConfig): string | undefined {
  return describeTlsError(err, config.tls?.ca ? 'is coordinator.ca the CA that signed it?' : 'set coordinator.ca to the CA that signed it');
}
