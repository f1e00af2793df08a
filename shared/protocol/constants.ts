/**
 * Agent ↔ coordinator wire protocol: version, path, vocabularies, limits and close codes.
 * docs/protocol.md is the prose version of the same contract.
 */

/**
 * Every message carries `v`. A peer that receives another version closes with
 * `CloseCode.UnsupportedVersion`; bump this only for changes an old peer cannot ignore
 * (the schemas reject unknown keys, so any new key is such a change).
 */
export const PROTOCOL_VERSION = 1 as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION;

/**
 * The first agent version that understands the coordinator's `maintenance` message. The
 * schemas are closed, so an older agent would close the link on it (4404); rather than a
 * protocol version every peer must move to at once, the coordinator sends the message only
 * to agents whose `hello.agentVersion` is this or later (docs/protocol.md, `maintenance`).
 */
export const MAINTENANCE_MIN_AGENT_VERSION = '0.2.0';

/** Whether an agent that said hello with `agentVersion` understands `maintenance`. */
export function agentUnderstandsMaintenance(agentVersion: string | null | undefined): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(agentVersion ?? '');
  if (!m) return false;
  const [maj, min, pat] = MAINTENANCE_MIN_AGENT_VERSION.split('.').map(Number) as [number, number, number];
  const v = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  return v[0] !== maj ? v[0] > maj : v[1] !== min ? v[1] > min : v[2] >= pat;
}

/** The agent WebSocket endpoint on the coordinator's single HTTP listener (docs/protocol.md). */
export const AGENT_WS_PATH = '/agent';

/** Per-service states, docs/states-and-alerts.md. */
export const SERVICE_STATES = ['unknown', 'starting', 'healthy', 'degraded', 'unhealthy', 'down', 'restarting', 'gave_up'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

/** Event types, docs/protocol.md. */
export const EVENT_TYPES = [
  'agent_started',
  'state_changed',
  'restart_started',
  'restart_succeeded',
  'restart_failed',
  'gave_up',
  'gpu_warning',
  'command_received',
  'command_result',
  'gap',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Size bounds enforced by the schemas. They exist so that a buggy or hostile peer cannot
 * make the other end allocate without limit; the frame size itself is capped separately
 * (ws `maxPayload` on the coordinator, `maxBytes` in the parse functions).
 */
export const Limits = {
  /** agent ids: same rule as the agent config's `agent.id` */
  agentIdPattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$',
  /** boot ids: nanoid-style, chosen by the agent once per process start */
  bootIdPattern: '^[A-Za-z0-9_-]{1,64}$',
  /** service names: same rule as the agent config's `services[].name` */
  serviceNamePattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  /** kinds are free-form here so a newer agent's new probe kind does not break the link */
  kindPattern: '^[a-z0-9_-]{1,32}$',
  maxUrlLength: 2048,
  maxUnitLength: 256,
  maxReasonLength: 1024,
  maxShortString: 128,
  maxLabels: 64,
  maxLabelKeyLength: 64,
  maxLabelValueLength: 256,
  maxServices: 256,
  maxEventsPerMessage: 1000,
  maxProbeResultsPerMessage: 1000,
  maxGpus: 64,
  /** keys per object inside an event's free-form `data` */
  maxDataKeys: 64,
  /** items per array inside an event's free-form `data` (e.g. 50 journal lines) */
  maxDataItems: 256,
  maxDataStringLength: 16384,
  /**
   * Nesting depth of an event's `data` (the `data` object itself is level 1). Bounded so
   * that storing an event (JSON.stringify, which recurses) can never exhaust the stack.
   */
  maxDataDepth: 4,
} as const;

/** Default cap on one frame, in bytes; the coordinator's `limits.maxPayload` default too. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024;

/**
 * WebSocket close codes. 1000–1015 are RFC 6455's (1009 is what `ws` itself sends when a
 * frame exceeds `maxPayload`, before the frame is ever buffered whole); 4000–4999 are ours.
 * The 44xx codes mirror the HTTP status with the same meaning, so they read at a glance.
 */
export const CloseCode = {
  /** clean close (agent shutting down) */
  Normal: 1000,
  /** the coordinator is shutting down; reconnect with backoff */
  GoingAway: 1001,
  /** a frame exceeded ws `maxPayload` (sent by the ws library itself) */
  MessageTooBig: 1009,
  /** the coordinator failed to process a valid message (e.g. its store failed); replay later */
  InternalError: 1011,
  /** a newer connection for the same agent id took over this one; do not reconnect on this socket's behalf */
  Replaced: 4001,
  /** frame is not JSON, not an object, or fails the schema of its type */
  InvalidFrame: 4400,
  /** authentication failed after the upgrade (reserved: today auth fails at the upgrade with HTTP 401) */
  Unauthorized: 4401,
  /** the agent token is not bound to the agent id in `hello` (docs/configuration.md, auth.agentTokens); fix the config */
  Forbidden: 4403,
  /** `type` is not a message this end knows */
  UnknownType: 4404,
  /** no `hello` within the coordinator's hello timeout */
  HelloTimeout: 4408,
  /** `v` is not PROTOCOL_VERSION; retrying will not help until one side is upgraded */
  UnsupportedVersion: 4409,
  /** a valid message at the wrong time: nothing before `hello`, one `hello` per connection, events of another agent */
  ProtocolViolation: 4412,
  /** frame larger than the parser's `maxBytes` */
  TooLarge: 4413,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
