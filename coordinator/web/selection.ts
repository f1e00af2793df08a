import type { RestartSelector } from './api.js';
import type { ServiceRef } from './hosts-view.js';

/**
 * Selectors that restart exactly the picked services. A selector is hosts × services, so
 * picking qwen on gpu-a and llama on gpu-b as one selector would restart four services:
 * hosts are grouped by the set of services picked on them, one selector (one job) per group.
 */
export function selectorsFor(picked: ServiceRef[]): RestartSelector[] {
  const byHost = new Map<string, string[]>();
  for (const p of picked) byHost.set(p.host, [...(byHost.get(p.host) ?? []), p.service]);
  const groups = new Map<string, RestartSelector>();
  for (const [host, services] of byHost) {
    const sorted = [...new Set(services)].sort();
    const key = JSON.stringify(sorted);
    const group = groups.get(key);
    if (group) group.hosts!.push(host);
    else groups.set(key, { hosts: [host], services: sorted });
  }
  return [...groups.values()];
}
