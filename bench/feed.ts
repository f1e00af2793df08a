/**
 * Live feed latency: 1,000 simulated agents (2 services each) and 50 feed clients on one
 * in-process coordinator. Each round, 20 agents change one service's state; the latency of
 * one sample is from the agent writing the `events` frame (the coordinator receives it over
 * loopback) to a client receiving the delta that shows the new state, for every client.
 * Prints p50/p99/max over all samples. Agents, clients and coordinator share this machine's
 * CPUs, so the figures include their contention.
 *
 *   npm run bench -- feed [--rounds N]   (default 30 rounds, 250 ms apart)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '../coordinator/main.js';
import { parseCoordinatorConfig } from '../shared/config/coordinator-config.js';
import { createLogger } from '../shared/logger.js';
import type { FeedServerMessage } from '../shared/feed/messages.js';
import { startFeedLoad } from './lib/feed-load.js';

const AGENTS = 1000;
const CLIENTS = 50;
const PER_ROUND = 20;
const ROUND_MS = 250;
const TOKEN = 'bench-agent-token';

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 30;
  const dir = mkdtempSync(join(tmpdir(), 'llmh-bench-feed-'));
  const config = parseCoordinatorConfig(join(dir, 'c.yaml'), `listen: 127.0.0.1:0\ndataDir: ${dir}\nauth: { agentTokens: [${TOKEN}] }\n`, { env: {} });
  const coord = await startCoordinator(config, { logger: createLogger({ name: 'coordinator', level: 'warn' }), version: 'bench' });
  /** `${agent}/${service}/${state}` → send time */
  const pending = new Map<string, number>();
  const samples: number[] = [];
  const onMessage = (msg: FeedServerMessage, at: number) => {
    if (msg.type !== 'delta') return;
    for (const c of msg.changes) {
      if (c.kind !== 'host') continue;
      for (const s of c.host.services) {
        const sent = pending.get(`${c.host.id}/${s.name}/${s.state}`);
        if (sent !== undefined) samples.push(at - sent);
      }
    }
  };
  const load = await startFeedLoad(coord.url, TOKEN, AGENTS, CLIENTS, () => ({ onMessage }));
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let r = 0; r < rounds; r++) {
      pending.clear();
      for (let k = 0; k < PER_ROUND; k++) {
        const agent = load.fleet.agents[Math.floor(Math.random() * AGENTS)]!;
        const to = r % 2 === 0 ? 'down' : 'healthy';
        pending.set(`${agent.id}/svc-0/${to}`, performance.now());
        agent.setState(to, 'bench', ['svc-0']);
      }
      await new Promise((res) => setTimeout(res, ROUND_MS));
    }
    samples.sort((a, b) => a - b);
    const expected = rounds * PER_ROUND * CLIENTS;
    console.log(`feed latency, ${AGENTS} agents, ${CLIENTS} clients, ${rounds} rounds of ${PER_ROUND} changes: ${samples.length} samples (of up to ${expected}; a change to a state the service already had is not news)`);
    console.log(`  p50 ${quantile(samples, 0.5).toFixed(1)} ms   p99 ${quantile(samples, 0.99).toFixed(1)} ms   max ${(samples.at(-1) ?? NaN).toFixed(1)} ms`);
    console.log(`  gaps ${load.clients.reduce((n, c) => n + c.gaps, 0)}, invalid ${load.clients.reduce((n, c) => n + c.invalid.length, 0)}, snapshots after the first ${load.clients.reduce((n, c) => n + c.snapshots - 1, 0)}`);
  } finally {
    load.close();
    await coord.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
