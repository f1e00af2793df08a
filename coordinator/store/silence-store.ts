import type { Silence } from '../alerts/types.js';

/** Silences created through the API (docs/http-api.md), read by the alert pipeline. */
export interface SilenceStore {
  /** Rejects when a silence with the same id is stored already. */
  createSilence(silence: Silence): Promise<void>;
  getSilence(id: string): Promise<Silence | undefined>;
  /** Silences not yet ended at `now` (active and pending), or every stored one with `includeExpired`; by start time. */
  listSilences(query: SilenceQuery): Promise<Silence[]>;
  /**
   * Ends a silence at `at` (a pending one also starts at `at`); one already ended stays as
   * it is. Returns the silence as stored afterwards, undefined when there is no such id.
   */
  expireSilence(id: string, at: number): Promise<Silence | undefined>;
  /** Retention: deletes silences that ended before `before` (epoch ms). */
  prune(before: number): Promise<void>;
}

export interface SilenceQuery {
  now: number;
  includeExpired?: boolean;
}
