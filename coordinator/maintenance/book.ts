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
 * `until` is in the future (the alert pipeline and the fleet view ask with the current
 * time; the agent ends it on its own); `expire` then forgets it and says so once.
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

  /**
   * Windows whose `until` has passed, forgotten here and in the store; each is returned once
   * (for the audit log). Called every few seconds: a window that ended while the coordinator
   * was stopped is returned by the first call after the start.
   */
  async expire(): Promise<HostMaintenance[]> {
    const now = this.deps.clock.now();
    const ended = [...this.byHost.values()].filter((m) => m.until <= now);
    for (const m of ended) {
      this.byHost.delete(m.host);
      await this.deps.store.deleteMaintenance(m.host);
    }
    return ended;
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
