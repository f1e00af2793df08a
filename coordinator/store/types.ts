import type { Event } from '../../shared/protocol/messages.js';
import type { DeliveryStore } from './delivery-types.js';

export * from './delivery-types.js';

/**
 * Everything the coordinator persists goes through this interface; only `coordinator/store/`
 * holds SQL. Methods are async although SQLite answers synchronously, so that a PostgreSQL
 * backend (SPEC §7, several coordinators) is an added implementation, not a rewrite.
 *
 * Exactly-once lives here, not in callers: events are keyed by (agent id, boot id, seq),
 * and a per-(agent, boot) acknowledged watermark survives event retention, so an event
 * replayed after its row was pruned is still recognised as already processed.
 */
export interface Store extends DeliveryStore {
  /** Records (or refreshes) an agent from its `hello`. */
  recordHello(agent: AgentHello, at: number): Promise<void>;
  setConnected(agentId: string, connected: boolean, at: number): Promise<void>;
  /** At startup: nobody is connected to a coordinator that just started. */
  markAllDisconnected(): Promise<void>;
  listAgents(): Promise<AgentRecord[]>;

  /**
   * Stores a batch in one transaction. Events already stored (same agent, boot, seq) or at
   * or below the boot's acknowledged watermark are skipped. Returns the new ones in input
   * order and, per boot touched, the highest seq such that 1..seq are all stored.
   * Every event must belong to `agentId` (callers validate this before calling).
   */
  appendEvents(agentId: string, events: readonly Event[], receivedAt: number): Promise<AppendResult>;
  /** The acknowledged watermark for one boot, or null when nothing of it is stored. */
  lastSeq(agentId: string, bootId: string): Promise<number | null>;
  /** Events matching the query, oldest first. */
  listEvents(query: EventQuery): Promise<Event[]>;
  /**
   * Retention: deletes events received before `before` (epoch ms) and returns how many.
   * Watermarks stay. Alongside, finished (delivered or failed) outbox rows, delivery log
   * lines, notification log entries last written and silences ended before `before` go
   * too; pending outbox rows never do.
   */
  prune(before: number): Promise<number>;

  close(): Promise<void>;
}

export interface AgentHello {
  id: string;
  bootId: string;
  labels: Record<string, string>;
  agentVersion: string;
}

export interface AgentRecord extends AgentHello {
  firstSeen: number;
  lastSeen: number;
  connected: boolean;
}

export interface AckState {
  bootId: string;
  /** 0 when the boot's seq 1 has not arrived yet */
  seq: number;
}

export interface AppendResult {
  inserted: Event[];
  acks: AckState[];
}

export interface EventQuery {
  /** agent id */
  host?: string;
  service?: string;
  type?: string;
  /** epoch ms; events with `at` at or after it. Without it: the latest `limit` events. */
  since?: number;
  /** default 1000, at most MAX_EVENT_QUERY_LIMIT */
  limit?: number;
}

export const DEFAULT_EVENT_QUERY_LIMIT = 1000;
export const MAX_EVENT_QUERY_LIMIT = 10_000;
