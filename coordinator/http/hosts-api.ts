import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetStore } from '../store/fleet-store.js';
import { HttpError, sendJson } from './respond.js';
import type { Router } from './router.js';

export interface HostsApiDeps {
  fleet: FleetTracker;
  store: Pick<FleetStore, 'forgetAgent'>;
  clock: Clock;
  /** audit lines: who forgot which host, from where */
  logger: Logger;
}

/**
 * `DELETE /api/v1/hosts/:id` (admin): forget a retired host, so it leaves the fleet view and
 * its alerts resolve. Its event history stays. A host that is connected is refused (409): it
 * would be back at its next hello, and forgetting a live host is more likely a mistake.
 */
export function registerHostRoutes(router: Router, deps: HostsApiDeps): void {
  router.add('DELETE', '/api/v1/hosts/:id', 'admin', async ({ req, res, params, audit }) => {
    const id = params.id!;
    const host = deps.fleet.state.hosts.get(id);
    if (!host) throw new HttpError(404, 'not_found', `no host ${JSON.stringify(id)}`);
    if (host.connected) throw new HttpError(409, 'conflict', `host ${JSON.stringify(id)} is connected now: stop its agent first`);
    audit.detail = { lastSeen: host.lastSeen === null ? null : new Date(host.lastSeen).toISOString() };
    await deps.store.forgetAgent(id);
    deps.fleet.forget(id);
    deps.logger.info(
      { audit: 'host.forget', host: id, remote: req.socket.remoteAddress, lastSeen: host.lastSeen === null ? null : new Date(host.lastSeen).toISOString() },
      'host forgotten',
    );
    sendJson(res, 200, { id, forgotten: true, at: new Date(deps.clock.now()).toISOString() });
  }, 'host.forget');
}
