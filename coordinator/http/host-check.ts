import { isIP } from 'node:net';
import type { CoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { isLoopbackHost } from '../../shared/net/loopback.js';

/**
 * DNS rebinding: a web page on evil.example makes its name resolve to the coordinator's
 * address, and the victim's browser then reads the open API as if same-origin. The browser
 * still sends `Host: evil.example`, so in open mode (no viewer tokens) only names the
 * operator chose are served. IP literals pass: rebinding needs a name the attacker owns.
 * Returns undefined when viewer tokens are configured (reading needs a token anyway).
 */
export function hostChecker(config: Pick<CoordinatorConfig, 'auth' | 'listen' | 'externalUrl' | 'http'>): ((host: string | undefined) => boolean) | undefined {
  if (config.auth.viewerTokens.length > 0) return undefined;
  const names = new Set(config.http.allowedHosts);
  names.add(config.listen.host.toLowerCase());
  if (config.externalUrl) names.add(new URL(config.externalUrl).hostname.toLowerCase());
  return (header) => {
    // HTTP/1.0 clients may send none; browsers always do
    if (header === undefined || header === '') return true;
    const name = hostName(header);
    if (name === undefined) return false;
    return isIP(name) !== 0 || isLoopbackHost(name) || names.has(name);
  };
}

/** `name`, `name:port`, `[v6]:port` → the lower-case name or address; undefined if malformed. */
function hostName(header: string): string | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
}
