/**
 * The read API as the page uses it (docs/http-api.md). The browser is one more API client,
 * so these shapes are written from the documentation, not imported from the coordinator:
 * the coordinator's modules are compiled for Node and this file for the browser.
 */

export type ServiceState = 'unknown' | 'starting' | 'healthy' | 'degraded' | 'unhealthy' | 'down' | 'restarting' | 'gave_up';

export interface Gpu {
  index: number;
  name?: string;
  utilizationPct?: number | null;
  memoryUsedMiB?: number | null;
  memoryTotalMiB?: number | null;
  temperatureC?: number | null;
  eccUncorrected?: number | null;
  healthy?: boolean;
  warnings?: string[];
}

export interface Service {
  name: string;
  kind: string;
  state: ServiceState;
  reason: string;
  url: string;
  lastProbe: { ok: boolean | null; latencyMs: number | null; at: string | null };
  restarts: { count: number; lastAt: string | null; lastOutcome: string | null };
}

export interface Host {
  id: string;
  labels: Record<string, string>;
  connected: boolean;
  retired: boolean;
  lastSeen: string | null;
  /** the maintenance window while it lasts (POST /api/v1/hosts/:id/maintenance) */
  maintenance: Maintenance | null;
  gpu: { at: string; gpus: Gpu[] } | null;
  services: Service[];
}

export interface Maintenance {
  until: string;
  comment: string;
  by: string;
}

export interface Fleet {
  hosts: Host[];
}

export interface Alert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: { summary?: string; description?: string };
  state: 'firing' | 'suppressed' | 'resolved';
  suppressedBy: ({ kind: 'silenced'; silenceIds: string[] } | { kind: 'inhibited'; by: string[] } | ({ kind: 'maintenance'; host: string } & Maintenance))[];
  startsAt: string;
  endsAt: string | null;
}

export interface Silence {
  id: string;
  state: 'active' | 'pending' | 'expired';
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface FleetEvent {
  agentId: string;
  seq: number;
  at: string;
  type: string;
  service?: string;
  /** `state_changed`: the states before and after */
  from?: string;
  to?: string;
  reason?: string;
  data?: Record<string, unknown>;
}

/** POST/GET /api/v1/restarts: what a restart job selects and how far it got. */
export interface RestartSelector {
  hosts?: string[];
  services?: string[];
}

export interface RestartTarget {
  host: string;
  service: string;
  unit: string;
  state?: 'pending' | 'restarting' | 'waiting' | 'healthy' | 'failed' | 'skipped';
  reason?: string;
}

export interface RestartJob {
  id: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'aborted';
  /** an abort was asked for (DELETE): the job ends as `aborted` once its running targets finish */
  abortRequested?: boolean;
  reason: string;
  createdBy: string;
  counts: Record<string, number>;
  targets: RestartTarget[];
}

/** `GET /api/v1/services/:host/:service/history`: one step of the service's history. */
export interface HistoryBucket {
  /** the step's first minute */
  at: string;
  probes: number;
  failures: number;
  latencyMs: { p50: number | null; p95: number | null; max: number | null };
  /** seconds spent in each state as the fleet view showed it */
  stateSeconds: Partial<Record<ServiceState, number>>;
}

export interface Incident {
  startedAt: string;
  /** null while it lasts */
  endedAt: string | null;
  durationSeconds: number;
  worst: ServiceState;
  restarts: number;
}

export interface ServiceHistory {
  host: string;
  service: string;
  range: string;
  stepMinutes: number;
  buckets: HistoryBucket[];
  uptime: { '24h': number | null; '7d': number | null; '30d': number | null };
  incidents: Incident[];
}

/** An answer that is not 2xx: the API's `{ error: { code, message } }` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** No request may hang the page: a coordinator that stops answering counts as gone. */
export const REQUEST_TIMEOUT_MS = 5000;

/**
 * One JSON request to the coordinator this page came from. Same-origin, so the browser adds
 * the login session cookie by itself; `token` (the admin token) goes as a Bearer header.
 */
export async function requestJson<T>(path: string, init: RequestOptions = {}): Promise<T> {
  return (await requestJsonDated<T>(path, init)).body;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string | null;
}

/**
 * requestJson with the coordinator's clock: the answer's `Date` header (epoch ms, whole
 * seconds), or null without one. History minutes are on the coordinator's clock, and a
 * browser's clock may be minutes off.
 */
export async function requestJsonDated<T>(path: string, init: RequestOptions = {}): Promise<{ body: T; date: number | null }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // a proxy's HTML error page: the status says enough
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
  }
  const date = Date.parse(res.headers.get('date') ?? '');
  return { body: body as T, date: Number.isNaN(date) ? null : date };
}
