import type { AuditStore } from './audit-store.js';
import type { EventStore } from './event-store.js';
import type { FleetStore } from './fleet-store.js';
import type { JobStore } from './job-store.js';
import type { HistoryStore } from './history-store.js';
import type { MaintenanceStore } from './maintenance-store.js';
import type { OutboxStore } from './outbox-store.js';
import type { SilenceStore } from './silence-store.js';
import type { StoreHealth } from './write-health.js';

export * from './audit-store.js';
export * from './event-store.js';
export * from './fleet-store.js';
export * from './job-store.js';
export * from './history-store.js';
export * from './maintenance-store.js';
export * from './outbox-store.js';
export * from './silence-store.js';
export type { StoreHealth } from './write-health.js';

/**
 * Everything the coordinator persists, one interface per concern; only `coordinator/store/`
 * holds SQL. Methods are async although SQLite answers synchronously, so that a PostgreSQL
 * backend (several coordinators) is an added implementation, not a rewrite. Consumers take
 * the narrowest interface they need.
 *
 * A new concern gets an interface of its own, in a file of its own here, and a conformance
 * suite of its own under test/coordinator/store/conformance/, which every backend runs.
 *
 * The concerns of one backend share one database, and two of their semantics cross:
 * appending events counts as hearing from the agent (its `lastSeen` moves to the batch's
 * receive time), and event retention keeps the watermark of the boot each agent's last
 * `hello` named.
 */
export interface Store {
  readonly fleet: FleetStore;
  readonly events: EventStore;
  readonly outbox: OutboxStore;
  readonly silences: SilenceStore;
  readonly jobs: JobStore;
  /** per-service minute buckets; pruned on its own retention (`history.retention`), not by `prune` */
  readonly history: HistoryStore;
  readonly maintenance: MaintenanceStore;
  /** pruned with its own cutoff (`audit.retention`), never by `prune` below */
  readonly audit: AuditStore;
  /** Retention: every concern's `prune` but the audit log's, with the same cutoff; returns how many events went. */
  prune(before: number): Promise<number>;
  /** Whether a write would succeed now (cheap enough for every /healthz; a closed store is not). */
  checkWritable(): Promise<StoreHealth>;
  /** Idempotent. */
  close(): Promise<void>;
}
