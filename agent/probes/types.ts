import type { ServiceConfig, ServiceKind } from '../../shared/config/agent-config.js';
import type { Clock } from '../../shared/clock.js';

/**
 * What one probe attempt observed. The state machine decides what an outcome means
 * (a refused connection can be a crash or a loading vLLM; busy is never a failure).
 */
export type ProbeOutcome =
  | 'ok' // the check passed
  | 'loading' // server says it is loading a model (llama.cpp 503 "Loading model", SGLang 503 while starting)
  | 'busy' // overloaded / no free slot / 429: alive and working, not a failure
  | 'refused' // TCP connection refused (nothing listening)
  | 'timeout' // no complete answer within the timeout (hang)
  | 'http_error' // unexpected HTTP status (5xx, 404 ...)
  | 'bad_response' // answered, but the body is garbage / oversized / wrong shape
  | 'model_missing' // answered, but the configured model is not listed / loaded
  | 'mismatch' // the server cannot do what the probe asks of it (images for a text-only model): fix the config, not the server
  | 'error'; // any other network error (reset, DNS, TLS)

export type ProbeLevel = 'alive' | 'ready' | 'deep';

export interface ProbeAttempt {
  level: ProbeLevel;
  outcome: ProbeOutcome;
  url: string; // base URL that was probed
  latencyMs: number;
  status?: number; // HTTP status when there was one
  detail: string; // short human reason, e.g. "503 Loading model", "connect ECONNREFUSED"
  /** true for a deep result inferred from moving progress counters: no request was sent */
  inferred?: boolean;
}

/** Parsed Prometheus counters/gauges that tell busy from hung (docs/probing.md metrics-aware probing). */
export interface MetricsSample {
  at: number;
  /** requests being processed now */
  running: number;
  /** requests queued, not yet started */
  waiting: number;
  /** monotonic progress: tokens generated + requests finished (sum of what the kind exposes) */
  progress: number;
  /** KV cache usage 0..1 when exposed (vLLM gpu_cache_usage_perc / kv_cache_usage_perc) */
  kvCacheUsage?: number;
}

/**
 * One read of a server's Prometheus endpoint. `absent` is definitive (404, or llama.cpp's
 * 501 without `--metrics`): with `metrics: auto` the round stops asking. `failed` is a blip
 * (timeout, 5xx, no known metric names yet) and is tried again next round.
 */
export type MetricsRead =
  | { status: 'ok'; sample: MetricsSample; detail: string }
  | { status: 'absent'; detail: string }
  | { status: 'failed'; detail: string };

/** What the progress tracker concluded from this round's metrics (docs/probing.md stall detection). */
export interface StallObservation {
  /** progress counters moved since the previous sample */
  progressed: boolean;
  /** requests running or waiting */
  queued: boolean;
  /** how long work has been queued with counters standing still; 0 when not stalled */
  stalledForMs: number;
}

export interface ProbeContext {
  /** per-attempt timeout in ms */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * One probe implementation per kind (docs/probing.md table). Each method probes one base URL once,
 * with no retries; retries, fallbacks and timing live in the round runner.
 */
export interface Probe {
  readonly kind: ServiceKind;
  /** true when ready() is the same check as alive(), so the round runner sends it once */
  readonly readyIsAlive?: boolean;
  alive(baseUrl: string, ctx: ProbeContext): Promise<ProbeAttempt>;
  /** model listed/loaded etc.; kinds where ready = alive return alive's attempt */
  ready(baseUrl: string, ctx: ProbeContext): Promise<ProbeAttempt>;
  /** one-token generation; undefined for kinds without one (http, tcp) */
  deep?(baseUrl: string, ctx: ProbeContext & { vision: boolean; prompt: string }): Promise<ProbeAttempt>;
  /** Prometheus metrics; undefined for kinds that expose none (ollama, http, tcp) */
  metrics?(baseUrl: string, ctx: ProbeContext): Promise<MetricsRead>;
  /**
   * Work in progress as the server shows it without Prometheus metrics (llama.cpp `/slots`),
   * read twice a moment apart; undefined when the server does not tell.
   */
  workInProgress?(baseUrl: string, ctx: ProbeContext): Promise<WorkInProgress | undefined>;
}

export interface WorkInProgress {
  /** requests being generated now */
  running: number;
  /** their decoding moved between the two reads */
  progressed: boolean;
}

export type ProbeFactory = (service: ServiceConfig, deps: ProbeDeps) => Probe;

export interface ProbeDeps {
  clock: Clock;
  /** shared keep-alive HTTP dispatcher (undici Agent) */
  dispatcher?: import('undici').Dispatcher;
  /** cap on bytes read from any response body (default 256 KiB) */
  maxBodyBytes?: number;
}

/** Result of one probe round for a service: what the state machine consumes. */
export interface RoundResult {
  at: number;
  /** best outcome over primary and fallbacks after retries */
  outcome: ProbeOutcome;
  /** which base URL answered ok (primary or a fallback); undefined if none */
  servedBy?: string;
  /** true when the primary URL itself passed */
  primaryOk: boolean;
  /** how many attempts were made on the primary URL */
  attempts: number;
  /** the primary URL's own final outcome (differs from `outcome` when a fallback served) */
  primaryOutcome?: ProbeOutcome;
  /** a refused connection came with crash evidence (unit inactive / main process gone) */
  crash?: boolean;
  latencyMs: number;
  detail: string;
  /** set when a deep probe ran in this round */
  deep?: ProbeAttempt;
  /** set when metrics were read in this round */
  metrics?: MetricsSample;
  /** set with `metrics`: busy vs hung, from the service's progress counters */
  stall?: StallObservation;
  /** the individual attempts, newest last (bounded) */
  trail: ProbeAttempt[];
}
