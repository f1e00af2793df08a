import type { GpuReport, RestartSummary } from '../protocol/messages.js';
import type { ServiceState } from '../protocol/constants.js';

/**
 * The live status feed (docs/feed.md): WebSocket `/api/v1/feed` on the coordinator's
 * listener, for dashboards and `llm-health status --watch`. A separate contract from the
 * agent protocol: it carries the read API's documents (GET /api/v1/fleet, /alerts,
 * /silences) and changes to them, never events or evidence. Shapes mirror schemas.ts.
 */

export const FEED_WS_PATH = '/api/v1/feed';
/** The subprotocol a client must offer and the server echoes; the version of this contract. */
export const FEED_SUBPROTOCOL = 'llm-health.v1';
/** A client may offer `bearer.<token>` as a second subprotocol: a browser cannot set headers on a WebSocket, and a URL leaks into logs. */
export const FEED_BEARER_PREFIX = 'bearer.';
export const FEED_VERSION = 1 as const;

/** A host as GET /api/v1/fleet serves it (coordinator/fleet/view.ts builds it). */
export interface FeedHost {
  id: string;
  labels: Record<string, string>;
  connected: boolean;
  /** away for longer than `fleet.retireAfter`: no longer pages (DELETE /api/v1/hosts/:id forgets it) */
  retired: boolean;
  lastSeen: string | null;
  /** the host's maintenance window while it lasts (POST /api/v1/hosts/:id/maintenance) */
  maintenance: { until: string; comment: string; by: string } | null;
  gpu: GpuReport | null;
  services: FeedService[];
}

export interface FeedService {
  name: string;
  kind: string;
  state: ServiceState;
  reason: string;
  url: string;
  /** fields are null until the first probe result arrives */
  lastProbe: { ok: boolean | null; latencyMs: number | null; at: string | null };
  restarts: RestartSummary;
}

/** As GET /api/v1/alerts serves one. */
export interface FeedAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  state: 'firing' | 'suppressed' | 'resolved';
  suppressedBy: ({ kind: 'silenced'; silenceIds: string[] } | { kind: 'inhibited'; by: string[] } | { kind: 'maintenance'; host: string; until: string; by: string; comment: string })[];
  startsAt: string;
  endsAt: string | null;
}

/** As GET /api/v1/silences serves one. */
export interface FeedSilence {
  id: string;
  state: 'active' | 'pending' | 'expired';
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt: string;
  updatedAt: string;
}

/** Everything, at `seq`: replaces whatever the client held. */
export interface FeedSnapshot {
  type: 'snapshot';
  v: typeof FEED_VERSION;
  seq: number;
  at: string;
  fleet: { hosts: FeedHost[] };
  alerts: FeedAlert[];
  silences: FeedSilence[];
}

/** One change; every change is an idempotent upsert or removal keyed by id. */
export type FeedChange =
  | { kind: 'host'; host: FeedHost }
  /** only `lastSeen` moved (heartbeats, pongs): the rest of the host is as last sent */
  | { kind: 'hostSeen'; id: string; lastSeen: string | null }
  | { kind: 'hostRemoved'; id: string }
  | { kind: 'alert'; alert: FeedAlert }
  | { kind: 'alertRemoved'; fingerprint: string }
  | { kind: 'silence'; silence: FeedSilence }
  | { kind: 'silenceRemoved'; id: string };

/** Changes after the previous message: `seq` is always the previous message's seq + 1. */
export interface FeedDelta {
  type: 'delta';
  v: typeof FEED_VERSION;
  seq: number;
  at: string;
  changes: FeedChange[];
}

/** Both ways: the server's carries the last seq it sent; the client's only proves it is alive. */
export interface FeedHeartbeat {
  type: 'heartbeat';
  v: typeof FEED_VERSION;
  seq?: number;
  at?: string;
}

export type FeedServerMessage = FeedSnapshot | FeedDelta | FeedHeartbeat;
