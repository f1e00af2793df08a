import type { Event } from '../../shared/protocol/messages.js';

/**
 * The event history the agents send (docs/protocol.md). Exactly-once lives here, not in
 * callers: events are keyed by (agent id, boot id, seq), and a per-(agent, boot)
 * acknowledged watermark survives event retention, so an event replayed after its row was
 * pruned is still recognised as already processed.
 */
export interface EventStore {
  /**
   * Stores a batch in one transaction. Events already stored (same agent, boot, seq) or at
   * or below the boot's acknowledged watermark are skipped. Returns the new ones in input
   * order and, per boot touched, the highest seq such that 1..seq are all stored.
   * Every event must belong to `agentId` (callers validate this before calling); one that
   * does not rejects the whole batch and stores nothing.
   *
   * A newly stored `gap` event (`data.lost: [{ bootId, fromSeq, toSeq }]`, the agent's
   * spool dropped those events) moves each named boot's watermark up to at least `toSeq`:
   * the lost events will never arrive, and the watermark must not stall waiting for them.
   */
  appendEvents(agentId: string, events: readonly Event[], receivedAt: number): Promise<AppendResult>;
  /** The acknowledged watermark for one boot, or null when nothing of it is stored. */
  lastSeq(agentId: string, bootId: string): Promise<number | null>;
  /** Events matching the query in the order they were received, oldest first. */
  listEvents(query: EventQuery): Promise<Event[]>;
  /** listEvents plus the cursor after its last event, to page on with `after`. */
  pageEvents(query: EventQuery): Promise<EventPage>;
  /**
   * Retention: deletes events received before `before` (epoch ms) and returns how many.
   * Watermarks stay, except those that have not moved since `before` and belong to a boot
   * other than the one the agent's last `hello` named (FleetStore): one per agent restart
   * would otherwise pile up. The current boot's watermark always stays.
   */
  prune(before: number): Promise<number>;
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
  /** epoch ms; events with `at` at or after it. Without it (and `after`): the latest `limit` events. */
  since?: number;
  /** only events received after this position (a previous page's `next`) */
  after?: EventCursor;
  /** default 1000, at most MAX_EVENT_QUERY_LIMIT */
  limit?: number;
}

/** A position in receive order: the coordinator's receive time, then the row's insertion order. */
export interface EventCursor {
  receivedAt: number;
  id: number;
}

export interface EventPage {
  events: Event[];
  /** after the last event; null when the page is empty */
  next: EventCursor | null;
}

export const DEFAULT_EVENT_QUERY_LIMIT = 1000;
export const MAX_EVENT_QUERY_LIMIT = 10_000;
