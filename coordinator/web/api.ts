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
  reason: string;
  createdBy: string;
  counts: Record<string, number>;
  targets: RestartTarget[];
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
export async function requestJson<T>(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}): Promise<T> {
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
  return body as T;
}
