import type { Clock } from '../../shared/clock.js';
import type { HostMaintenance, MaintenanceStore } from '../store/maintenance-store.js';

/** What the fleet view shows of a host's window (docs/http-api.md, `GET /api/v1/fleet`). */
export interface MaintenanceView {
  until: string;
  comment: string;
  by: string;
}

/**
 * Hosts in maintenance, held in memory over the MaintenanceStore: stored first, then
 * applied, so a restarted coordinator has every window back. A window is active while
 * `until` is in the future; nothing needs to happen at `until` on this side (the alert
 * pipeline and the fleet view ask with the current time; the agent ends it on its own).
 */
export class MaintenanceBook {
  private readonly byHost = new Map<string, HostMaintenance>();

  constructor(private readonly deps: { store: MaintenanceStore; clock: Clock; onChange?: (host: string) => void }) {}

  async load(): Promise<void> {
    for (const m of await this.deps.store.listMaintenance()) this.byHost.set(m.host, m);
  }

  /** The host's window while it lasts. */
  active(host: string): HostMaintenance | undefined {
    const m = this.byHost.get(host);
    return m && m.until > this.deps.clock.now() ? m : undefined;
  }

  view(host: string): MaintenanceView | null {
    const m = this.active(host);
    return m ? { until: new Date(m.until).toISOString(), comment: m.comment, by: m.by } : null;
  }

  async start(m: HostMaintenance): Promise<void> {
    await this.deps.store.putMaintenance(m);
    this.byHost.set(m.host, m);
    this.deps.onChange?.(m.host);
  }

  /** Ends the host's window now; false when it had none active. */
  async end(host: string): Promise<boolean> {
    const had = this.active(host) !== undefined;
    await this.deps.store.deleteMaintenance(host);
    this.byHost.delete(host);
    if (had) this.deps.onChange?.(host);
    return had;
  }
}
