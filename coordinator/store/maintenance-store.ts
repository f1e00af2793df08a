/**
 * Hosts in maintenance (docs/http-api.md, `POST /api/v1/hosts/:id/maintenance`): at most one
 * window per host, stored so that a restarted coordinator keeps pausing and muting it.
 */
export interface HostMaintenance {
  host: string;
  /** epoch ms: when it was put in maintenance */
  since: number;
  /** epoch ms: when it ends by itself */
  until: number;
  comment: string;
  /** the admin token's name */
  by: string;
}

export interface MaintenanceStore {
  /** Stores the host's window, replacing the one it had. */
  putMaintenance(m: HostMaintenance): Promise<void>;
  /** False when the host had none. */
  deleteMaintenance(host: string): Promise<boolean>;
  /** Every stored window, ended ones included until pruned; by host. */
  listMaintenance(): Promise<HostMaintenance[]>;
  /** Retention: deletes windows that ended before `before` (epoch ms). */
  prune(before: number): Promise<void>;
}
