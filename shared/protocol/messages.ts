import type { EventType, ProtocolVersion, ServiceState } from './constants.js';

/**
 * TypeScript shapes of the messages in `schemas.ts`, written next to them by hand (the
 * schemas use bounds and patterns a derived type cannot express). A value that passed the
 * parser has exactly this shape. Times are ISO 8601 strings on the wire.
 */

export type IsoTime = string;

/** docs/protocol.md: stored and served as is. `seq` starts at 1 for each `bootId` and never skips. */
export interface Event {
  agentId: string;
  bootId: string;
  seq: number;
  at: IsoTime;
  /** set by the coordinator only: the agent's `at` when it was outside the accepted window */
  originalAt?: IsoTime;
  type: EventType;
  service?: string;
  from?: ServiceState;
  to?: ServiceState;
  reason: string;
  /** free-form details (journal lines, systemctl properties ...), at most 4 levels deep */
  data?: Record<string, unknown>;
}

export interface GpuInfo {
  index: number;
  name?: string;
  uuid?: string;
  utilizationPct?: number | null;
  memoryUsedMiB?: number | null;
  memoryTotalMiB?: number | null;
  temperatureC?: number | null;
  powerW?: number | null;
  powerLimitW?: number | null;
  eccUncorrected?: number | null;
  throttleReasons?: string[];
  healthy?: boolean;
  warnings?: string[];
}

export interface GpuReport {
  at: IsoTime;
  gpus: GpuInfo[];
}

export interface LastProbe {
  ok: boolean;
  latencyMs: number | null;
  at: IsoTime;
}

export interface RestartSummary {
  count: number;
  lastAt: IsoTime | null;
  lastOutcome: string | null;
}

// ---------------------------------------------------------------- agent → coordinator

export interface HelloService {
  name: string;
  kind: string;
  url: string;
  unit?: string;
}

/** First message on every connection. */
export interface HelloMessage {
  type: 'hello';
  v: ProtocolVersion;
  agentId: string;
  /** new for each agent process start; scopes `seq` */
  bootId: string;
  labels: Record<string, string>;
  agentVersion: string;
  services: HelloService[];
}

export interface SnapshotService {
  name: string;
  kind: string;
  url: string;
  state: ServiceState;
  reason: string;
  /** when the service entered `state` */
  since: IsoTime | null;
  lastProbe: LastProbe | null;
  restarts: RestartSummary;
}

/** Full current state; sent after every `hello`, before replaying spooled events. */
export interface SnapshotMessage {
  type: 'snapshot';
  v: ProtocolVersion;
  services: SnapshotService[];
  gpu?: GpuReport | null;
}

export interface EventsMessage {
  type: 'events';
  v: ProtocolVersion;
  events: Event[];
}

export interface ProbeResult {
  service: string;
  ok: boolean;
  state: ServiceState;
  latencyMs: number | null;
  at: IsoTime;
  /** base URL that answered (primary or a fallback) */
  servedBy?: string;
}

/** Routine results; may be summarised or dropped under pressure (never events). */
export interface ProbesMessage {
  type: 'probes';
  v: ProtocolVersion;
  results: ProbeResult[];
  summarized?: { dropped: number };
}

export interface GpuMessage {
  type: 'gpu';
  v: ProtocolVersion;
  at?: IsoTime;
  gpus: GpuInfo[];
}

export interface HeartbeatMessage {
  type: 'heartbeat';
  v: ProtocolVersion;
  at: IsoTime;
}

export type AgentMessage = HelloMessage | SnapshotMessage | EventsMessage | ProbesMessage | GpuMessage | HeartbeatMessage;
export type AgentMessageType = AgentMessage['type'];

// ---------------------------------------------------------------- coordinator → agent

/** Answer to `hello`: what the coordinator already stored for the agent's current boot. */
export interface WelcomeMessage {
  type: 'welcome';
  v: ProtocolVersion;
  agentId: string;
  /** highest contiguous stored seq for the hello's bootId, or null when none */
  ackedSeq: { bootId: string; seq: number } | null;
  /** the coordinator's frame cap, so the agent can size its batches */
  limits?: { maxPayload: number };
}

/** Cumulative: every event of `bootId` with seq ≤ `seq` is stored; drop them from the spool. */
export interface AckMessage {
  type: 'ack';
  v: ProtocolVersion;
  bootId: string;
  seq: number;
}

/**
 * A restart job's step (docs/protocol.md, `command`): the agent restarts the unit its own
 * config names for `service`, at most once per `id`, and answers with `command_received` and
 * `command_result` events. The shape is the one v1 reserved, so no version change was needed.
 */
export interface CommandMessage {
  type: 'command';
  v: ProtocolVersion;
  id: string;
  action: 'restart';
  service: string;
}

/**
 * The host's maintenance window (docs/protocol.md, `maintenance`): while `until` is in the
 * future the agent starts no automatic restart; `null` ends it. Sent after each `snapshot`
 * and whenever it changes, only to agents at MAINTENANCE_MIN_AGENT_VERSION or later.
 */
export interface MaintenanceMessage {
  type: 'maintenance';
  v: ProtocolVersion;
  until: IsoTime | null;
  comment?: string;
}

export type CoordinatorMessage = WelcomeMessage | AckMessage | HeartbeatMessage | CommandMessage | MaintenanceMessage;
export type CoordinatorMessageType = CoordinatorMessage['type'];
