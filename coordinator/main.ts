import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SystemClock, type Clock } from '../shared/clock.js';
import type { CoordinatorConfig } from '../shared/config/coordinator-config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { AGENT_WS_PATH } from '../shared/protocol/constants.js';
import { AgentTokens } from './agent-tokens.js';
import { registerHostRoutes } from './http/hosts-api.js';
import { registerLoginRoutes } from './http/login.js';
import { SessionStore } from './http/sessions.js';
import { TokenSet } from './auth.js';
import { fleetFromAgents } from './fleet/reduce.js';
import { FleetTracker } from './fleet/tracker.js';
import { AgentHub, HEARTBEAT_SLICES } from './hub/hub.js';
import { registerApiRoutes } from './http/api.js';
import { registerStatusPage } from './http/page.js';
import { registerFeedProbe } from './http/feed-probe.js';
import { Router } from './http/router.js';
import { createHttpServer, type UpgradeHandler } from './http/server.js';
import { exposureWarnings } from './http/exposure.js';
import { hostChecker } from './http/host-check.js';
import { httpsOptions, refuseUnverifiedClients, reloadTls } from './http/tls.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/types.js';
import { every } from './timers.js';
import { coordinatorLiveness, startDeadMansSwitch } from './self-watch.js';
import { AlertPipeline, dispatcherConfigFrom } from './alerts/pipeline.js';
import { DeliveryService } from './delivery/service.js';
import { SilenceCache } from './delivery/silence-cache.js';
import { createNotifier } from './notify/registry.js';
import { createNotifyDispatcher } from './notify/http.js';
import { registerAlertRoutes } from './http/alerts-api.js';
import { registerSilenceRoutes } from './http/silences-api.js';
import { registerRestartRoutes } from './http/restarts-api.js';
import { RestartScheduler } from './jobs/scheduler.js';
import { Registry } from 'prom-client';
import { registerMetricsRoute } from './http/metrics-api.js';
import { Auditor, SYSTEM_ACTOR } from './audit/auditor.js';
import { jobStateAudit, jobStepAudit } from './audit/job-steps.js';
import { registerAuditRoutes } from './http/audit-api.js';
import { registerMaintenanceRoutes } from './http/maintenance-api.js';
import { MaintenanceAgentSync } from './maintenance/agent-sync.js';
import { MaintenanceBook } from './maintenance/book.js';
import { registerCoordinatorMetrics } from './metrics/index.js';
import { FEED_WS_PATH } from '../shared/feed/messages.js';
import { FeedHub } from './feed/hub.js';
import { HistoryRecorder } from './history/recorder.js';
import { registerHistoryRoutes } from './http/history-api.js';

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
  /** where GET /metrics collects from; default: a registry of its own (never prom-client's global one) */
  metricsRegistry?: Registry;
}

export interface RunningCoordinator {
  /** http(s)://host:port of the listener (127.0.0.1 when listening on all interfaces) */
  readonly url: string;
  readonly port: number;
  readonly fleet: FleetTracker;
  readonly store: Store;
  readonly hub: AgentHub;
  readonly alerts: AlertPipeline;
  readonly delivery: DeliveryService;
  /** the live feed, WebSocket /api/v1/feed */
  readonly feed: FeedHub;
  /** per-service minute history (GET /api/v1/services/:host/:service/history) */
  readonly history: HistoryRecorder;
  /** Re-reads tls.cert/key/ca for new connections (SIGHUP); false, logged, when they cannot be used or TLS is off. */
  reloadTls(): boolean;
  /** null while the main loop turns and the store answers (coordinator/self-watch.ts), else why not */
  liveness(): Promise<string | null> | string | null;
  /** Stops accepting, closes agents with 1001, stops timers, closes the store it opened. Idempotent. */
  close(): Promise<void>;
}

/** Database file inside `dataDir`. */
export const DB_FILE = 'llm-health.db';
/** How often offline agents are looked for; agentLostAfter is reached at most this late. */
const MAX_SWEEP_INTERVAL_MS = 5000;
/** How often the feed looks at what time alone changes (offline, silences) and at clients that drained. */
const FEED_TICK_MS = 1000;
/** How often finished history minutes are written (and offline agents' time is accounted). */
const HISTORY_TICK_MS = 5000;
/** How often ended maintenance windows are forgotten and audited (`maintenance.ended`). */
const MAINTENANCE_EXPIRY_MS = 1000;

export async function startCoordinator(config: CoordinatorConfig, deps: CoordinatorDeps = {}): Promise<RunningCoordinator> {
  const logger = deps.logger ?? createLogger({ name: 'coordinator', level: config.log.level, file: config.log.file });
  const clock = deps.clock ?? new SystemClock();
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? SqliteStore.open(join(config.dataDir, DB_FILE));

  const stops: (() => void)[] = [];
  let hub: AgentHub | undefined;
  let feedHub: FeedHub | undefined;
  try {
    await store.fleet.markAllDisconnected();
    const agentTokens = new AgentTokens(config.auth.agentTokens);
    for (const source of agentTokens.unbound) {
      logger.warn(
        { token: source },
        `${source} is a plain agent token: any agent holding it may speak as any agent id (take over another host's connection, forge its events). Bind it: { token, agents: [ids or globs] }`,
      );
    }
    const fleet = new FleetTracker(clock, config.fleet.agentLostAfter, fleetFromAgents(await store.fleet.listAgents(), clock.now()), config.fleet.retireAfter);
    let scheduler: RestartScheduler | undefined;
    let pipeline: AlertPipeline | undefined;
    const metricsRegistry = deps.metricsRegistry ?? new Registry();
    const metrics = registerCoordinatorMetrics(metricsRegistry, {
      fleet,
      connections: () => hub?.connectionCount ?? 0,
      alertCounts: () => pipeline?.counts(),
      receivers: config.notify.map((n) => n.name),
      pendingCounts: () => store.outbox.pendingCounts(),
    });
    stops.push(metrics.stop);
    let maintenanceSync: MaintenanceAgentSync | undefined;
    const maintenance = new MaintenanceBook({ store: store.maintenance, clock, onChange: (host) => {
      maintenanceSync?.tell(host);
      pipeline?.update(fleet.state);
    } });
    await maintenance.load();
    fleet.maintenanceOf = (host) => maintenance.view(host);
    const agentHub = new AgentHub({
      observe: (input) => {
        scheduler?.observe(input);
        maintenanceSync?.observe(input);
      },
      store,
      fleet,
      clock,
      logger,
      agentTokens,
      maxPayload: config.limits.maxPayload,
      helloTimeout: config.fleet.helloTimeout,
      observer: metrics.observer,
    });
    hub = agentHub;
    maintenanceSync = new MaintenanceAgentSync({ book: maintenance, fleet, send: (id, msg) => agentHub.sendMaintenance(id, msg), logger: logger.child({ component: 'maintenance' }) });

    const viewerTokens = new TokenSet(config.auth.viewerTokens);
    const adminTokens = new TokenSet(config.auth.adminTokens, config.auth.adminTokenNames);
    // browser logins only make sense where reading needs a token
    const sessions = viewerTokens.size > 0 ? new SessionStore(() => clock.now()) : undefined;
    const auditor = new Auditor({ store: store.audit, clock, logger });
    const router = new Router({ viewerTokens, adminTokens, ...(sessions ? { sessions } : {}), audit: auditor }, logger);
    registerAuditRoutes(router, { store: store.audit });
    if (sessions) registerLoginRoutes(router, { sessions, viewerTokens, adminTokens, logger });
    let accepting = false;
    registerApiRoutes(router, {
      fleet,
      events: store.events,
      evidenceWithoutToken: config.auth.evidenceWithoutToken,
      health: () => ({ version: deps.version ?? 'unknown', connectedAgents: agentHub.connectedAgents.length }),
      storeWritable: () => store.checkWritable(),
      listening: () => accepting,
    });
    registerStatusPage(router, { fleet });
    registerFeedProbe(router);
    registerHostRoutes(router, { fleet, store: store.fleet, clock, logger });
    registerMaintenanceRoutes(router, { book: maintenance, fleet, clock, maxDuration: config.silences.maxDuration });
    registerMetricsRoute(router, metricsRegistry);
    const history = new HistoryRecorder({ fleet, clock, store: store.history, agentLostAfter: config.fleet.agentLostAfter, logger });
    stops.push(() => history.stop());
    await history.resume();
    registerHistoryRoutes(router, { fleet, store: store.history, recorder: history, clock, retention: config.history.retention });

    // Alerts: rules over fleet state → silences/inhibition/grouping/dedup → durable outbox →
    // one delivery worker per receiver. The pipeline starts once the URL is known.
    const notifyDispatcher = createNotifyDispatcher();
    const notifiers = config.notify.map((n) => createNotifier(n, { dispatcher: notifyDispatcher, logger: logger.child({ receiver: n.name }), now: () => clock.now() }));
    const delivery = new DeliveryService({ store: store.outbox, notifiers, clock, logger: logger.child({ component: 'delivery' }), onOutcome: metrics.onOutcome });
    stops.push(() => void notifyDispatcher.close());
    const silences = new SilenceCache(store.silences, clock, logger);
    await silences.load();
    const feed = new FeedHub({
      fleet,
      clock,
      logger: logger.child({ component: 'feed' }),
      agentLostAfter: config.fleet.agentLostAfter,
      retireAfter: config.fleet.retireAfter,
      alerts: () => pipeline?.alerts({ resolved: true }) ?? [],
      silences: () => silences.all(),
      auth: { viewerTokens, adminTokens, ...(sessions ? { sessions } : {}) },
      limits: config.feed,
    });
    feedHub = feed;
    registerSilenceRoutes(router, { store: store.silences, clock, logger, maxDuration: config.silences.maxDuration, onChange: (silence) => {
      silences.put(silence);
      feed.silencesChanged();
      pipeline?.update(fleet.state);
    } });
    scheduler = new RestartScheduler({ store: store.jobs, events: store.events, fleet, send: (agentId, cmd) => agentHub.sendCommand(agentId, cmd), clock, logger: logger.child({ component: 'jobs' }),
      onStep: (job, t) => {
        const row = jobStepAudit(job, t);
        if (row) auditor.record(row);
      },
      onJobState: (job) => auditor.record(jobStateAudit(job)),
    });
    const jobs = scheduler;
    stops.push(() => jobs.stop());
    await jobs.start();
    registerRestartRoutes(router, { scheduler: jobs, store: store.jobs, fleet, clock, inMaintenance: (host) => maintenance.active(host) !== undefined });
    registerAlertRoutes(router, { alerts: () => pipeline?.alerts({ resolved: true }) ?? [], store: store.outbox, receivers: () => delivery.status() });
    const upgrades = new Map<string, UpgradeHandler>([
      [AGENT_WS_PATH, (req, socket, head) => agentHub.handleUpgrade(req, socket, head)],
      [FEED_WS_PATH, (req, socket, head) => feed.handleUpgrade(req, socket, head)],
    ]);
    const tlsConfig = config.tls;
    const server = createHttpServer(router, upgrades, { hostAllowed: hostChecker(config), ...(tlsConfig ? { tls: httpsOptions(tlsConfig) } : {}) });
    if (tlsConfig?.clientCerts === 'optional') refuseUnverifiedClients(server as HttpsServer, logger);
    for (const warning of exposureWarnings(config)) logger.warn(warning);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => logger.error({ err: err.message }, 'http server error'));
    accepting = true;
    const port = (server.address() as AddressInfo).port;
    const url = `${tlsConfig ? 'https' : 'http'}://${urlHost(config.listen.host)}:${port}`;

    await delivery.start();
    const alerts = new AlertPipeline({
      clock,
      config: dispatcherConfigFrom(config, config.externalUrl ?? `${url}/`),
      getLogEntry: (receiver, groupKey) => delivery.getLogEntry(receiver, groupKey),
      emit: (notification, entry) => delivery.emit(notification, entry),
      updateLog: (entry) => delivery.updateLog(entry),
      silences: () => silences.all(),
      maintenance: (host) => maintenance.view(host),
      agentLostAfter: config.fleet.agentLostAfter,
      retireAfter: config.fleet.retireAfter,
      onError: (err: unknown) => logger.error({ err: (err as Error).message }, 'alert pipeline error'),
      onEvaluated: () => feed.alertsChanged(),
      resolvedRetention: config.alerts.resolvedRetention,
    });
    pipeline = alerts;
    const unsubscribe = fleet.subscribe(() => alerts.update(fleet.state));
    stops.push(unsubscribe, () => alerts.stop());
    // time alone changes alerts (an agent goes offline; a silence starts or ends)
    let lastTickAt = clock.now();
    stops.push(
      every(clock, 1000, 'alert evaluation', logger, () => {
        alerts.update(fleet.state);
        lastTickAt = clock.now();
      }),
    );
    const liveness = coordinatorLiveness({ clock, store, lastTickAt: () => lastTickAt });
    if (config.watchdog) stops.push(startDeadMansSwitch(config.watchdog, { clock, logger, check: liveness }));

    stops.push(every(clock, FEED_TICK_MS, 'feed tick', logger, () => feed.tick()));
    stops.push(
      every(clock, MAINTENANCE_EXPIRY_MS, 'maintenance expiry', logger, async () => {
        for (const m of await maintenance.expire()) {
          auditor.record({ actor: SYSTEM_ACTOR, remote: null, action: 'maintenance.ended', target: m.host, detail: { until: new Date(m.until).toISOString(), comment: m.comment, by: m.by }, outcome: 'ok', status: null });
        }
      }),
    );
    stops.push(every(clock, HISTORY_TICK_MS, 'history', logger, () => history.tick()));
    stops.push(every(clock, config.fleet.heartbeatInterval, 'feed heartbeat', logger, () => feed.heartbeat()));
    stops.push(every(clock, Math.max(1, Math.floor(config.fleet.heartbeatInterval / HEARTBEAT_SLICES)), 'agent heartbeat', logger, () => agentHub.tick()));
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
          const buckets = await store.history.prune(clock.now() - config.history.retention);
          if (buckets > 0) logger.info({ buckets }, 'pruned history past history.retention');
          const audited = await store.audit.prune(clock.now() - config.audit.retention);
          if (audited > 0) logger.info({ removed: audited }, 'pruned audit log rows past audit.retention');
        },
        { immediate: true },
      ),
    );

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        accepting = false;
        for (const stop of stops) stop();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await agentHub.close();
        await feed.close();
        server.closeAllConnections();
        await serverClosed;
        // delivery before the store: in-flight sends settle or stay pending for the next start
        await delivery.stop();
        // a restart job's step in flight finishes its writes (and its audit rows) first
        await jobs.idle();
        await auditor.idle();
        await history.flush().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'history: storing the minute in progress failed'));
        if (ownsStore) await store.close();
        logger.info('coordinator stopped');
      })());

    const reload = (): boolean => {
      if (tlsConfig) return reloadTls(server as HttpsServer, tlsConfig, logger);
      logger.info('nothing to reload: no tls section configured');
      return false;
    };

    return { url, port, fleet, store, hub: agentHub, alerts, delivery, feed, history, reloadTls: reload, liveness, close };
  } catch (err) {
    for (const stop of stops) stop();
    await hub?.close();
    await feedHub?.close();
    if (ownsStore) await store.close();
    throw err;
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
