import { parseDuration } from '../../shared/duration.js';
import { globMatcher } from '../agent-tokens.js';
import type { FleetState } from '../fleet/types.js';
import type { Selector } from './types.js';

/** A POST /api/v1/restarts body, checked. */
export interface JobRequest {
  selector: Selector;
  maxParallel: number;
  healthTimeout: number;
  maxFailures: number;
  dryRun: boolean;
  reason: string;
}

export interface PlannedTarget {
  host: string;
  service: string;
  unit: string;
}

export const MAX_PARALLEL = 100;
export const MAX_HEALTH_TIMEOUT_MS = 24 * 3_600_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 10 * 60_000;
export const MAX_REASON_LENGTH = 1000;
const MAX_SELECTOR_ITEMS = 256;
const MAX_SELECTOR_STRING = 256;

/** Thrown with a message naming the field; the API answers 400 with it. */
export class JobRequestError extends Error {}

export function parseJobRequest(body: unknown): JobRequest {
  if (!isObject(body)) throw new JobRequestError('body: expected a JSON object');
  const known = new Set(['selector', 'maxParallel', 'healthTimeout', 'maxFailures', 'dryRun', 'reason']);
  for (const key of Object.keys(body)) if (!known.has(key)) throw new JobRequestError(`${key}: unknown field`);
  const healthTimeout = body.healthTimeout === undefined ? DEFAULT_HEALTH_TIMEOUT_MS : parseDuration(body.healthTimeout);
  if (healthTimeout === undefined || healthTimeout <= 0 || healthTimeout > MAX_HEALTH_TIMEOUT_MS) throw new JobRequestError('healthTimeout: expected a duration such as 10m, at most 24h');
  if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') throw new JobRequestError('dryRun: expected true or false');
  if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > MAX_REASON_LENGTH)) throw new JobRequestError(`reason: expected a string of at most ${MAX_REASON_LENGTH} characters`);
  return {
    selector: parseSelector(body.selector),
    maxParallel: integer(body.maxParallel, 'maxParallel', 1, 1, MAX_PARALLEL),
    healthTimeout,
    maxFailures: integer(body.maxFailures, 'maxFailures', 1, 0, 10_000),
    dryRun: body.dryRun === true,
    reason: (body.reason as string | undefined) ?? '',
  };
}

function parseSelector(raw: unknown): Selector {
  if (!isObject(raw)) throw new JobRequestError('selector: expected an object with hosts, services or labels');
  const selector: Selector = {};
  for (const key of Object.keys(raw)) {
    if (key === 'hosts' || key === 'services') selector[key] = stringList(raw[key], `selector.${key}`);
    else if (key === 'labels') selector.labels = labelMap(raw.labels);
    else if (key === 'includeMaintenance') {
      if (typeof raw.includeMaintenance !== 'boolean') throw new JobRequestError('selector.includeMaintenance: expected true or false');
      selector.includeMaintenance = raw.includeMaintenance;
    }
    else throw new JobRequestError(`selector.${key}: unknown field`);
  }
  // restarting every service of the fleet must be asked for by name (hosts: ["*"]), never by omission
  if (!selector.hosts?.length && !selector.services?.length && !Object.keys(selector.labels ?? {}).length) {
    throw new JobRequestError('selector: name hosts, services or labels (hosts: ["*"] for every host)');
  }
  return selector;
}

/** The services a selector picks, host by host (sorted by id), in each agent's config order; only those with a unit. */
export function resolveTargets(fleet: FleetState, selector: Selector, inMaintenance: (host: string) => boolean = () => false): PlannedTarget[] {
  const hostGlobs = selector.hosts?.map(globMatcher);
  const services = selector.services && new Set(selector.services);
  const labels = Object.entries(selector.labels ?? {});
  const out: PlannedTarget[] = [];
  for (const host of [...fleet.hosts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (hostGlobs && !hostGlobs.some((m) => m(host.id))) continue;
    if (!labels.every(([k, v]) => host.labels[k] === v)) continue;
    // a host being worked on is not restarted by a fleet-wide job unless that is asked for by name
    if (!selector.includeMaintenance && inMaintenance(host.id)) continue;
    for (const s of host.services) {
      if (s.unit && (!services || services.has(s.name))) out.push({ host: host.id, service: s.name, unit: s.unit });
    }
  }
  return out;
}

function stringList(raw: unknown, path: string): string[] {
  if (!Array.isArray(raw) || raw.length > MAX_SELECTOR_ITEMS || raw.some((s) => typeof s !== 'string' || s.length === 0 || s.length > MAX_SELECTOR_STRING)) {
    throw new JobRequestError(`${path}: expected a list of at most ${MAX_SELECTOR_ITEMS} non-empty strings`);
  }
  return raw as string[];
}

function labelMap(raw: unknown): Record<string, string> {
  if (!isObject(raw) || Object.keys(raw).length > 64 || Object.values(raw).some((v) => typeof v !== 'string')) {
    throw new JobRequestError('selector.labels: expected a mapping of label names to values');
  }
  return { ...(raw as Record<string, string>) };
}

function integer(raw: unknown, path: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) throw new JobRequestError(`${path}: expected an integer from ${min} to ${max}`);
  return raw;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
