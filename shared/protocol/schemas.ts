import { EVENT_TYPES, Limits, PROTOCOL_VERSION, SERVICE_STATES } from './constants.js';

/**
 * JSON Schemas for every message, both directions (docs/protocol.md). Plain constants so both ends
 * compile the same text; `parse.ts` compiles them once. Every object is closed
 * (`additionalProperties: false`) and every string and array is bounded, so a valid
 * message is also a bounded one. The TypeScript types in `messages.ts` mirror these;
 * test/shared/protocol.test.ts keeps the two in step with one sample per message.
 */

const version = { type: 'integer', const: PROTOCOL_VERSION } as const;

/** ISO 8601 with a time zone, as produced by `Date.prototype.toISOString()` (offsets also accepted). */
export const ISO_TIME_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)$';
export const isoTime = { type: 'string', maxLength: 40, pattern: ISO_TIME_PATTERN } as const;
const nullableIsoTime = { ...isoTime, nullable: true } as const;

const agentId = { type: 'string', pattern: Limits.agentIdPattern } as const;
const bootId = { type: 'string', pattern: Limits.bootIdPattern } as const;
const serviceName = { type: 'string', pattern: Limits.serviceNamePattern } as const;
const kind = { type: 'string', pattern: Limits.kindPattern } as const;
const url = { type: 'string', minLength: 1, maxLength: Limits.maxUrlLength } as const;
const reason = { type: 'string', maxLength: Limits.maxReasonLength } as const;
const shortString = { type: 'string', maxLength: Limits.maxShortString } as const;
const state = { type: 'string', enum: [...SERVICE_STATES] } as const;
const latencyMs = { type: 'number', minimum: 0, maximum: 1e9 } as const;
const seq = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

const labels = {
  type: 'object',
  maxProperties: Limits.maxLabels,
  propertyNames: { type: 'string', minLength: 1, maxLength: Limits.maxLabelKeyLength },
  additionalProperties: { type: 'string', maxLength: Limits.maxLabelValueLength },
} as const;

/**
 * Any JSON value nested at most `depth` levels. Built by unrolling rather than `$ref`
 * recursion because recursion is exactly what the bound is meant to exclude.
 */
export function boundedJson(depth: number): Record<string, unknown> {
  const scalar = { type: ['string', 'number', 'boolean', 'null'], maxLength: Limits.maxDataStringLength };
  if (depth <= 1) return scalar;
  const inner = boundedJson(depth - 1);
  return {
    anyOf: [
      scalar,
      { type: 'array', maxItems: Limits.maxDataItems, items: inner },
      {
        type: 'object',
        maxProperties: Limits.maxDataKeys,
        propertyNames: { type: 'string', maxLength: Limits.maxShortString },
        additionalProperties: inner,
      },
    ],
  };
}

const eventData = {
  type: 'object',
  maxProperties: Limits.maxDataKeys,
  propertyNames: { type: 'string', maxLength: Limits.maxShortString },
  additionalProperties: boundedJson(Limits.maxDataDepth - 1),
} as const;

/** docs/protocol.md event, stored and served as is. */
export const eventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agentId', 'bootId', 'seq', 'at', 'type', 'reason'],
  properties: {
    agentId,
    bootId,
    seq,
    at: isoTime,
    originalAt: isoTime,
    type: { type: 'string', enum: [...EVENT_TYPES] },
    service: serviceName,
    from: state,
    to: state,
    reason,
    data: eventData,
  },
} as const;

const gpuNumber = { type: 'number', nullable: true, minimum: -1e12, maximum: 1e12 } as const;
export const gpuInfoSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['index'],
  properties: {
    index: { type: 'integer', minimum: 0, maximum: 1023 },
    name: shortString,
    uuid: shortString,
    utilizationPct: gpuNumber,
    memoryUsedMiB: gpuNumber,
    memoryTotalMiB: gpuNumber,
    temperatureC: gpuNumber,
    powerW: gpuNumber,
    powerLimitW: gpuNumber,
    eccUncorrected: { type: 'integer', nullable: true, minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    throttleReasons: { type: 'array', maxItems: 32, items: shortString },
    healthy: { type: 'boolean' },
    warnings: { type: 'array', maxItems: 32, items: reason },
  },
} as const;
const gpus = { type: 'array', maxItems: Limits.maxGpus, items: gpuInfoSchema } as const;

const lastProbe = {
  type: 'object',
  nullable: true,
  additionalProperties: false,
  required: ['ok', 'latencyMs', 'at'],
  properties: {
    ok: { type: 'boolean' },
    latencyMs: { ...latencyMs, nullable: true },
    at: isoTime,
  },
} as const;

const restarts = {
  type: 'object',
  additionalProperties: false,
  required: ['count', 'lastAt', 'lastOutcome'],
  properties: {
    count: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    lastAt: nullableIsoTime,
    lastOutcome: { ...shortString, nullable: true },
  },
} as const;

// ---------------------------------------------------------------- agent → coordinator

export const helloSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'agentId', 'bootId', 'labels', 'agentVersion', 'services'],
  properties: {
    type: { type: 'string', const: 'hello' },
    v: version,
    agentId,
    bootId,
    labels,
    agentVersion: shortString,
    services: {
      type: 'array',
      maxItems: Limits.maxServices,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'url'],
        properties: { name: serviceName, kind, url, unit: { type: 'string', minLength: 1, maxLength: Limits.maxUnitLength } },
      },
    },
  },
} as const;

export const snapshotSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'services'],
  properties: {
    type: { type: 'string', const: 'snapshot' },
    v: version,
    services: {
      type: 'array',
      maxItems: Limits.maxServices,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'url', 'state', 'reason', 'since', 'lastProbe', 'restarts'],
        properties: { name: serviceName, kind, url, state, reason, since: nullableIsoTime, lastProbe, restarts },
      },
    },
    gpu: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['at', 'gpus'],
      properties: { at: isoTime, gpus },
    },
  },
} as const;

export const eventsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'events'],
  properties: {
    type: { type: 'string', const: 'events' },
    v: version,
    events: { type: 'array', minItems: 1, maxItems: Limits.maxEventsPerMessage, items: eventSchema },
  },
} as const;

export const probesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'results'],
  properties: {
    type: { type: 'string', const: 'probes' },
    v: version,
    results: {
      type: 'array',
      maxItems: Limits.maxProbeResultsPerMessage,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['service', 'ok', 'state', 'latencyMs', 'at'],
        properties: {
          service: serviceName,
          ok: { type: 'boolean' },
          state,
          latencyMs: { ...latencyMs, nullable: true },
          at: isoTime,
          servedBy: url,
        },
      },
    },
    summarized: {
      type: 'object',
      additionalProperties: false,
      required: ['dropped'],
      properties: { dropped: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
    },
  },
} as const;

export const gpuSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'gpus'],
  properties: {
    type: { type: 'string', const: 'gpu' },
    v: version,
    at: isoTime,
    gpus,
  },
} as const;

const heartbeatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'at'],
  properties: {
    type: { type: 'string', const: 'heartbeat' },
    v: version,
    at: isoTime,
  },
} as const;
export const agentHeartbeatSchema = heartbeatSchema;

/** Keyed by `type`: the parser looks the schema up by the frame's `type`. */
export const agentMessageSchemas = {
  hello: helloSchema,
  snapshot: snapshotSchema,
  events: eventsSchema,
  probes: probesSchema,
  gpu: gpuSchema,
  heartbeat: heartbeatSchema,
} as const;

// ---------------------------------------------------------------- coordinator → agent

export const welcomeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'agentId', 'ackedSeq'],
  properties: {
    type: { type: 'string', const: 'welcome' },
    v: version,
    agentId,
    ackedSeq: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['bootId', 'seq'],
      properties: { bootId, seq },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      required: ['maxPayload'],
      properties: { maxPayload: { type: 'integer', minimum: 1, maximum: 1 << 30 } },
    },
  },
} as const;

export const ackSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'bootId', 'seq'],
  properties: {
    type: { type: 'string', const: 'ack' },
    v: version,
    bootId,
    seq,
  },
} as const;

export const commandSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'id', 'action', 'service'],
  properties: {
    type: { type: 'string', const: 'command' },
    v: version,
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    action: { type: 'string', enum: ['restart'] },
    service: serviceName,
  },
} as const;

/** Sent only to agents that announced they understand it (MAINTENANCE_MIN_AGENT_VERSION). */
export const maintenanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'until'],
  properties: {
    type: { type: 'string', const: 'maintenance' },
    v: version,
    until: nullableIsoTime,
    comment: { type: 'string', maxLength: Limits.maxReasonLength },
  },
} as const;

export const coordinatorMessageSchemas = {
  welcome: welcomeSchema,
  ack: ackSchema,
  heartbeat: heartbeatSchema,
  command: commandSchema,
  maintenance: maintenanceSchema,
} as const;
