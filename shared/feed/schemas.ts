import { Limits, SERVICE_STATES } from '../protocol/constants.js';
import { gpuInfoSchema, isoTime } from '../protocol/schemas.js';
import { FEED_VERSION } from './messages.js';

/**
 * JSON Schemas of the feed's messages (docs/feed.md), closed and bounded like the agent
 * protocol's. Clients (cli/status.ts) validate what they receive with them; the tests
 * validate every message the coordinator sends.
 */

const version = { type: 'integer', const: FEED_VERSION } as const;
const seq = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const nullableIso = { ...isoTime, nullable: true } as const;
const shortString = { type: 'string', maxLength: Limits.maxShortString } as const;
const text = { type: 'string', maxLength: 16384 } as const;
const stringMap = { type: 'object', maxProperties: Limits.maxLabels + 8, additionalProperties: { type: 'string', maxLength: 4096 } } as const;
const nullableNumber = { type: 'number', nullable: true, minimum: 0, maximum: 1e9 } as const;
const id = { type: 'string', minLength: 1, maxLength: 256 } as const;

const service = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'state', 'reason', 'url', 'lastProbe', 'restarts'],
  properties: {
    name: { type: 'string', pattern: Limits.serviceNamePattern },
    kind: shortString,
    state: { type: 'string', enum: [...SERVICE_STATES] },
    reason: { type: 'string', maxLength: Limits.maxReasonLength },
    url: { type: 'string', maxLength: Limits.maxUrlLength },
    lastProbe: {
      type: 'object',
      additionalProperties: false,
      required: ['ok', 'latencyMs', 'at'],
      properties: { ok: { type: 'boolean', nullable: true }, latencyMs: nullableNumber, at: nullableIso },
    },
    restarts: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'lastAt', 'lastOutcome'],
      properties: { count: seq, lastAt: nullableIso, lastOutcome: { ...shortString, nullable: true } },
    },
  },
} as const;

export const feedHostSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'labels', 'connected', 'retired', 'lastSeen', 'gpu', 'services', 'maintenance'],
  properties: {
    id: { type: 'string', pattern: Limits.agentIdPattern },
    labels: stringMap,
    connected: { type: 'boolean' },
    retired: { type: 'boolean' },
    maintenance: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['until', 'comment', 'by'],
      properties: { until: isoTime, comment: text, by: shortString },
    },
    lastSeen: nullableIso,
    gpu: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['at', 'gpus'],
      properties: { at: isoTime, gpus: { type: 'array', maxItems: Limits.maxGpus, items: gpuInfoSchema } },
    },
    services: { type: 'array', maxItems: Limits.maxServices, items: service },
  },
} as const;

const suppression = {
  type: 'object',
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['silenced', 'inhibited', 'maintenance'] },
    silenceIds: { type: 'array', maxItems: 1000, items: id },
    // inhibiting fingerprints, or (maintenance) who put the host in maintenance
    by: { anyOf: [{ type: 'array', maxItems: 1000, items: id }, shortString] },
    host: { type: 'string', pattern: Limits.agentIdPattern },
    until: isoTime,
    comment: text,
  },
  additionalProperties: false,
} as const;

export const feedAlertSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['fingerprint', 'labels', 'annotations', 'state', 'suppressedBy', 'startsAt', 'endsAt'],
  properties: {
    fingerprint: id,
    labels: stringMap,
    annotations: { type: 'object', additionalProperties: false, required: ['summary', 'description'], properties: { summary: text, description: text } },
    state: { type: 'string', enum: ['firing', 'suppressed', 'resolved'] },
    suppressedBy: { type: 'array', maxItems: 3, items: suppression },
    startsAt: isoTime,
    endsAt: nullableIso,
  },
} as const;

export const feedSilenceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'state', 'matchers', 'startsAt', 'endsAt', 'createdBy', 'comment', 'createdAt', 'updatedAt'],
  properties: {
    id,
    state: { type: 'string', enum: ['active', 'pending', 'expired'] },
    matchers: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'value', 'isRegex', 'isEqual'],
        properties: { name: shortString, value: { type: 'string', maxLength: 4096 }, isRegex: { type: 'boolean' }, isEqual: { type: 'boolean' } },
      },
    },
    startsAt: isoTime,
    endsAt: isoTime,
    createdBy: shortString,
    comment: { type: 'string', maxLength: 1000 },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

export const feedSnapshotSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'seq', 'at', 'fleet', 'alerts', 'silences'],
  properties: {
    type: { type: 'string', const: 'snapshot' },
    v: version,
    seq,
    at: isoTime,
    fleet: { type: 'object', additionalProperties: false, required: ['hosts'], properties: { hosts: { type: 'array', maxItems: 100_000, items: feedHostSchema } } },
    alerts: { type: 'array', maxItems: 1_000_000, items: feedAlertSchema },
    silences: { type: 'array', maxItems: 100_000, items: feedSilenceSchema },
  },
} as const;

const change = (kind: string, properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required: ['kind', ...Object.keys(properties)], properties: { kind: { type: 'string', const: kind }, ...properties } }) as const;

export const feedDeltaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v', 'seq', 'at', 'changes'],
  properties: {
    type: { type: 'string', const: 'delta' },
    v: version,
    seq: { ...seq, minimum: 1 },
    at: isoTime,
    changes: {
      type: 'array',
      minItems: 1,
      maxItems: 100_000,
      items: {
        oneOf: [
          change('host', { host: feedHostSchema }),
          change('hostSeen', { id: { type: 'string', pattern: Limits.agentIdPattern }, lastSeen: nullableIso }),
          change('hostRemoved', { id: { type: 'string', pattern: Limits.agentIdPattern } }),
          change('alert', { alert: feedAlertSchema }),
          change('alertRemoved', { fingerprint: id }),
          change('silence', { silence: feedSilenceSchema }),
          change('silenceRemoved', { id }),
        ],
      },
    },
  },
} as const;

export const feedHeartbeatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'v'],
  properties: { type: { type: 'string', const: 'heartbeat' }, v: version, seq, at: isoTime },
} as const;

export const feedMessageSchemas = { snapshot: feedSnapshotSchema, delta: feedDeltaSchema, heartbeat: feedHeartbeatSchema } as const;
