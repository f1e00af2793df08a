import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SystemClock, type Clock } from '../shared/clock.js';
import type { CoordinatorConfig } from '../shared/config/coordinator-config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { AGENT_WS_PATH } from '../shared/protocol/constants.js';
import { TokenSet } from './auth.js';
import { fleetFromAgents } from './fleet/reduce.js';
import { FleetTracker } from './fleet/tracker.js';
import { AgentHub } from './hub/hub.js';
import { registerApiRoutes } from './http/api.js';
import { registerStatusPage } from './http/page.js';
import { Router } from './http/router.js';
import { createHttpServer, type UpgradeHandler } from './http/server.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/types.js';
import { every } from './timers.js';

/**
 * Composition root: builds every coordinator dependency and wires them together. No other
 * module creates a logger, clock, database or server. Tests call `startCoordinator`
 * in-process with `listen` port 0 and read the chosen port from the result.
 */

export interface CoordinatorDeps {
  logger?: Logger;
  clock?: Clock;
  /** an injected store stays open after close() (its creator owns it); a created one is closed */
  store?: Store;
  /** reported by /healthz */
  version?: string;
}

export interface RunningCoordinator {
  /** http://host:port of the listener (127.0.0.1 when listening on all interfaces) */
  readonly url: string;
  readonly port: number;
  readonly fleet: FleetTracker;
  readonly store: Store;
  readonly hub: AgentHub;
  /** Stops accepting, closes agents with 1001, stops timers, closes the store it opened. Idempotent. */
  close(): Promise<void>;
}

/** Database file inside `dataDir`. */
export const DB_FILE = 'llm-health.db';
/** How often offline agents are looked for; agentLostAfter is reached at most this late. */
const MAX_SWEEP_INTERVAL_MS = 5000;

export async function startCoordinator(config: CoordinatorConfig, deps: CoordinatorDeps = {}): Promise<RunningCoordinator> {
  const logger = deps.logger ?? createLogger({ name: 'coordinator', level: config.log.level, file: config.log.file });
  const clock = deps.clock ?? new SystemClock();
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? SqliteStore.open(join(config.dataDir, DB_FILE));

  const stops: (() => void)[] = [];
  let hub: AgentHub | undefined;
  try {
    await store.markAllDisconnected();
    const fleet = new FleetTracker(clock, config.fleet.agentLostAfter, fleetFromAgents(await store.listAgents()));
    const agentHub = new AgentHub({
      store,
      fleet,
      clock,
      logger,
      agentTokens: new TokenSet(config.auth.agentTokens),
      maxPayload: config.limits.maxPayload,
      helloTimeout: config.fleet.helloTimeout,
    });
    hub = agentHub;

    const router = new Router({ viewerTokens: new TokenSet(config.auth.viewerTokens), adminTokens: new TokenSet(config.auth.adminTokens) }, logger);
    registerApiRoutes(router, { fleet, store, health: () => ({ version: deps.version ?? 'unknown', connectedAgents: agentHub.connectedAgents.length }) });
    registerStatusPage(router, { fleet });
    const upgrades = new Map<string, UpgradeHandler>([[AGENT_WS_PATH, (req, socket, head) => agentHub.handleUpgrade(req, socket, head)]]);
    const server = createHttpServer(router, upgrades);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => logger.error({ err: err.message }, 'http server error'));
    const port = (server.address() as AddressInfo).port;
    const url = `http://${urlHost(config.listen.host)}:${port}`;

    stops.push(every(clock, config.fleet.heartbeatInterval, 'agent heartbeat', logger, () => agentHub.tick()));
    stops.push(
      every(clock, Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(1, Math.floor(config.fleet.agentLostAfter / 2))), 'fleet sweep', logger, () => {
        for (const agentId of fleet.sweep()) logger.warn({ agentId }, 'agent lost: not heard from for fleet.agentLostAfter');
      }),
    );
    stops.push(
      every(
        clock,
        config.store.pruneInterval,
        'retention',
        logger,
        async () => {
          const removed = await store.prune(clock.now() - config.store.retention);
          if (removed > 0) logger.info({ removed }, 'pruned events past retention');
        },
        { immediate: true },
      ),
    );

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        for (const stop of stops) stop();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await agentHub.close();
        server.closeAllConnections();
        await serverClosed;
        if (ownsStore) await store.close();
        logger.info('coordinator stopped');
      })());

    return { url, port, fleet, store, hub: agentHub, close };
  } catch (err) {
    for (const stop of stops) stop();
    await hub?.close();
    if (ownsStore) await store.close();
    throw err;
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
