/**
 * Public shapes of the LLM server emulator, kept apart from index.ts so the per-kind modules
 * can use them without importing the server lifecycle.
 */
export type EmulatorKind = 'llamacpp' | 'vllm' | 'tgi' | 'ollama' | 'sglang' | 'openai';

export type EmulatorMode =
  | 'ok'
  | 'hang'
  | 'slow'
  | 'loading'
  | 'busy'
  | 'gen_fail'
  | 'gen_hang'
  | 'stall'
  | 'model_missing'
  | 'garbage'
  | 'huge'
  | 'crash';

export const EMULATOR_KINDS: readonly EmulatorKind[] = ['llamacpp', 'vllm', 'tgi', 'ollama', 'sglang', 'openai'];

export const EMULATOR_MODES: readonly EmulatorMode[] = [
  'ok', 'hang', 'slow', 'loading', 'busy', 'gen_fail', 'gen_hang', 'stall', 'model_missing', 'garbage', 'huge', 'crash',
];

export function isEmulatorKind(value: unknown): value is EmulatorKind {
  return typeof value === 'string' && (EMULATOR_KINDS as readonly string[]).includes(value);
}

export function isEmulatorMode(value: unknown): value is EmulatorMode {
  return typeof value === 'string' && (EMULATOR_MODES as readonly string[]).includes(value);
}

export interface EmulatorOptions {
  kind: EmulatorKind;
  /** default 127.0.0.1 */
  host?: string;
  /** 0 = ephemeral */
  port?: number;
  /** default per kind (see DEFAULT_MODELS) */
  model?: string;
  /** simulate model loading at start; Infinity = never finishes */
  loadTimeMs?: number;
  /** die this long after start: the server closes and 'crash' is emitted (the CLI exits 1) */
  crashAfterMs?: number;
  /** mode once loading (if any) is over; default 'ok' */
  mode?: EmulatorMode;
  /** for slow (every answer) and busy (generations); for loading set at run time, the load time */
  delayMs?: number;
  /** default: true for vllm/tgi/sglang, false for llamacpp (needs --metrics), never for ollama/openai */
  metrics?: boolean;
  /** vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc; 'old' serves the V0 names */
  vllmMetricNames?: 'new' | 'old';
  /** openai/vllm: require Authorization: Bearer KEY */
  apiKey?: string;
  /**
   * generation slots: requests beyond them wait in a FIFO queue (default per kind, see
   * DEFAULT_SLOTS: llama.cpp's -np 4, vLLM's max_num_seqs 256)
   */
  slots?: number;
  /** decode steps per second, each giving every busy slot one token; default 2000 */
  tokensPerSecond?: number;
  /** a vision model (default true); false refuses image input the way each engine refuses it for a text-only model (TGI cannot tell) */
  vision?: boolean;
  /** llamacpp with a load time: how long the port refuses connections before "Loading model"; default 100 */
  bindDelayMs?: number;
}

export interface EmulatorStats {
  /** requests answered or held on non-control routes */
  requests: number;
  /** generation requests that reached the engine (deep probes included), whatever their outcome */
  generations: number;
}

export interface Emulator {
  readonly kind: EmulatorKind;
  readonly port: number;
  readonly url: string;
  /** false while the port is closed: a vLLM/TGI load, or after close/crash */
  readonly listening: boolean;
  mode(): EmulatorMode;
  /** for 'loading', delayMs is how long the load takes (absent: until the next setMode) */
  setMode(mode: EmulatorMode, opts?: { delayMs?: number }): void;
  stats(): EmulatorStats;
  /** stops at once: the port closes and every request in progress is cut off */
  close(): Promise<void>;
  /**
   * What SIGTERM does to the real server. llama.cpp closes its port at once and stops
   * decoding, but lingers until every client with a generation in progress (or queued) has
   * gone; hung modes and the other kinds simply close. Resolves once fully closed.
   */
  terminate(): Promise<void>;
  /** 'listening' fires each time the port opens (at start, and after a vLLM/TGI load) */
  on(event: 'crash' | 'listening', fn: () => void): void;
}

export const DEFAULT_SLOTS: Record<EmulatorKind, number> = {
  llamacpp: 4,
  vllm: 256,
  tgi: 128,
  ollama: 4,
  sglang: 256,
  openai: 256,
};

export const DEFAULT_TOKENS_PER_SECOND = 2000;
export const DEFAULT_BIND_DELAY_MS = 100;

export const DEFAULT_MODELS: Record<EmulatorKind, string> = {
  llamacpp: 'llama-3.2-11b-vision',
  vllm: 'Qwen/Qwen2.5-VL-7B-Instruct',
  tgi: 'meta-llama/Llama-3.2-11B-Vision-Instruct',
  ollama: 'llama3.2-vision',
  sglang: 'Qwen/Qwen2.5-VL-7B-Instruct',
  openai: 'gpt-4o-mini',
};
