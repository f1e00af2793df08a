import type { ServiceState } from '../../shared/protocol/constants.js';
import type {
  Event,
  GpuMessage,
  GpuReport,
  HelloMessage,
  LastProbe,
  ProbesMessage,
  RestartSummary,
  SnapshotMessage,
} from '../../shared/protocol/messages.js';

/**
 * Fleet state as the coordinator knows it: immutable values, changed only by `reduceFleet`.
 * The real last state of every service is kept even while its agent is offline; the view
 * hides it behind `unknown` and it shows again when the agent returns (docs/protocol.md).
 */
export interface ServiceEntry {
  readonly name: string;
  readonly kind: string;
  readonly url: string;
  readonly unit?: string;
  readonly state: ServiceState;
  readonly reason: string;
  /** ISO time the service entered `state`; later-dated inputs win, so replays never regress it */
  readonly since: string | null;
  readonly lastProbe: LastProbe | null;
  readonly restarts: RestartSummary;
}

export interface HostEntry {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly bootId: string | null;
  readonly agentVersion: string | null;
  /** a WebSocket from this agent is open now */
  readonly connected: boolean;
  /** epoch ms of the last frame, pong or connection change; null when never heard from */
  readonly lastSeen: number | null;
  /** set by `agentLost`, cleared by anything heard from the agent */
  readonly lost: boolean;
  readonly gpu: GpuReport | null;
  readonly services: readonly ServiceEntry[];
  /** epoch ms: the last time two processes were seen taking this agent id from each other */
  readonly duplicateAt: number | null;
}

export interface FleetState {
  /** keyed by agent id; a Map so ids like `constructor` are plain keys */
  readonly hosts: ReadonlyMap<string, HostEntry>;
}

export type FleetInput =
  | { type: 'hello'; at: number; msg: HelloMessage }
  | { type: 'snapshot'; at: number; agentId: string; msg: SnapshotMessage }
  | { type: 'event'; at: number; event: Event }
  | { type: 'probes'; at: number; agentId: string; msg: ProbesMessage }
  | { type: 'gpu'; at: number; agentId: string; msg: GpuMessage }
  /** heartbeat or pong: proof of life without news */
  | { type: 'seen'; at: number; agentId: string }
  | { type: 'connected'; at: number; agentId: string }
  | { type: 'disconnected'; at: number; agentId: string }
  | { type: 'agentLost'; at: number; agentId: string }
  /** two agent processes with this id keep replacing each other's connection */
  | { type: 'duplicate'; at: number; agentId: string }
  /** an admin removed the host (FleetTracker.forget; never passed to the reducer) */
  | { type: 'forgotten'; at: number; agentId: string };

/** `GET /api/v1/fleet`, docs/http-api.md, field for field. */
export interface FleetView {
  hosts: HostView[];
}

export interface HostView {
  id: string;
  labels: Record<string, string>;
  connected: boolean;
  /** away for longer than `fleet.retireAfter`: no longer pages (DELETE /api/v1/hosts/:id forgets it) */
  retired: boolean;
  lastSeen: string | null;
  gpu: GpuReport | null;
  services: ServiceView[];
  /** the host's maintenance window while it lasts (POST /api/v1/hosts/:id/maintenance) */
  maintenance: { until: string; comment: string; by: string } | null;
}

export interface ServiceView {
  name: string;
  kind: string;
  state: ServiceState;
  reason: string;
  url: string;
  /** fields are null until the first probe result arrives */
  lastProbe: { ok: boolean | null; latencyMs: number | null; at: string | null };
  restarts: RestartSummary;
}
