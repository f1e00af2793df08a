import type { Alert, Fleet, FleetEvent, Silence } from './api.js';

/**
 * Where the page's live data comes from, behind one small interface so that polling the REST
 * endpoints (PollingSource) and a push feed can replace each other without touching the views.
 */
export interface LiveSource {
  /** Begins delivering; `listener` is told of data and of the link's state until stop(). */
  start(listener: LiveListener): void;
  stop(): void;
  /** Fetch soon rather than at the next turn: the page itself just changed something (a silence). */
  refresh(): void;
}

export interface LiveListener {
  data(patch: LivePatch): void;
  link(state: LinkState): void;
}

/**
 * What changed. `fleet`, `alerts` and `silences` replace what the page held; `events` are
 * new events, oldest first, appended to those already shown.
 */
export interface LivePatch {
  fleet?: Fleet;
  alerts?: Alert[];
  silences?: Silence[];
  events?: FleetEvent[];
}

/** Which way the data comes: pushed by the feed, or fetched by polling (older coordinators). */
export type LiveKind = 'feed' | 'polling';

export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'live'; at: number; source: LiveKind }
  /** the last attempt failed; the next one is at `retryAt` (epoch ms) */
  | { kind: 'retrying'; error: string; retryAt: number; failures: number; source: LiveKind }
  /** the coordinator wants a login (viewer tokens are set and the session is gone) */
  | { kind: 'login' };
