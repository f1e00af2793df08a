import { execFile } from 'node:child_process';
import type { GpuConfig } from '../../shared/config/agent-config.js';
import { ErrorCode, LlmHealthError } from '../../shared/errors.js';

/**
 * GPU health from `nvidia-smi --query-gpu` (docs/states-and-alerts.md GPU). No binary means "no GPU data",
 * never an error; a binary that fails or hangs is an error, because a hung nvidia-smi is
 * itself a classic symptom of a GPU fallen off the bus.
 */

/** Drivers before ~R530 only know the old name; newer ones only the new (docs/states-and-alerts.md name drift). */
export const THROTTLE_FIELDS = ['clocks_event_reasons.active', 'clocks_throttle_reasons.active'] as const;
export type ThrottleField = (typeof THROTTLE_FIELDS)[number];

const BASE_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'ecc.errors.uncorrected.volatile.total',
] as const;

export const DEFAULT_TIMEOUT_MS = 10_000;
/** An 8-GPU box answers ~1.5 KB; this leaves room for 64 GPUs and chatty errors. */
const MAX_BUFFER = 256 * 1024;
/** After SIGKILL a process stuck in the driver (D state) may never exit; stop waiting for it. */
const KILL_GRACE_MS = 2_000;

export interface GpuReading {
  index: number;
  uuid: string;
  name: string;
  utilizationPercent: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
  powerDrawW: number | null;
  powerLimitW: number | null;
  eccUncorrected: number | null;
  /** decoded clock event (throttle) reasons; null when the driver does not report them */
  throttleReasons: string[] | null;
}

/**
 * NVML `nvmlClocksEventReason*` bits (nvml.h). Same bits under both field names; the
 * names are NVML's, lower-cased.
 */
export const THROTTLE_REASON_BITS: readonly (readonly [bigint, string])[] = [
  [0x1n, 'gpu_idle'],
  [0x2n, 'applications_clocks_setting'],
  [0x4n, 'sw_power_cap'],
  [0x8n, 'hw_slowdown'],
  [0x10n, 'sync_boost'],
  [0x20n, 'sw_thermal_slowdown'],
  [0x40n, 'hw_thermal_slowdown'],
  [0x80n, 'hw_power_brake_slowdown'],
  [0x100n, 'display_clock_setting'],
];

/** Reasons that mean the hardware is protecting itself (heat, power delivery), not policy. */
const HARMFUL_REASONS = new Set(['hw_slowdown', 'sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown']);

/** null for `[N/A]`, `[Not Supported]`, `N/A`, `[Unknown Error]`, `[GPU is lost]`, anything non-numeric. */
export function parseNumber(text: string | undefined): number | null {
  const t = text?.trim();
  if (!t || t.startsWith('[') || /^n\/?a$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

export function decodeThrottleReasons(text: string | undefined): string[] | null {
  const t = text?.trim();
  if (!t || !/^0x[0-9a-f]+$/i.test(t)) return null;
  const mask = BigInt(t);
  const names = THROTTLE_REASON_BITS.filter(([bit]) => (mask & bit) !== 0n).map(([, name]) => name);
  const known = THROTTLE_REASON_BITS.reduce((acc, [bit]) => acc | bit, 0n);
  if ((mask & ~known) !== 0n) names.push(`other_0x${(mask & ~known).toString(16)}`);
  return names;
}

/** Parses `--format=csv,noheader,nounits` output in BASE_FIELDS + throttle order; lines that do not fit are skipped. */
export function parseGpuCsv(text: string): GpuReading[] {
  const out: GpuReading[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length !== BASE_FIELDS.length + 1) continue;
    const index = parseNumber(f[0]);
    if (index === null || !Number.isInteger(index)) continue;
    out.push({
      index,
      uuid: f[1]!,
      name: f[2]!,
      utilizationPercent: parseNumber(f[3]),
      memoryUsedMiB: parseNumber(f[4]),
      memoryTotalMiB: parseNumber(f[5]),
      temperatureC: parseNumber(f[6]),
      powerDrawW: parseNumber(f[7]),
      powerLimitW: parseNumber(f[8]),
      eccUncorrected: parseNumber(f[9]),
      throttleReasons: decodeThrottleReasons(f[10]),
    });
  }
  return out;
}

/** Which throttle field worked last time; keep one per reader so the retry happens once per process. */
export interface GpuReaderState {
  throttleField?: ThrottleField;
}

export interface ReadGpusOptions {
  /** the nvidia-smi command (GpuConfig.command), looked up on PATH */
  command?: string;
  timeoutMs?: number;
  state?: GpuReaderState;
}

/** Reads every GPU once. null: no nvidia-smi on this host. Throws LlmHealthError when it fails or hangs. */
export async function readGpus(opts: ReadGpusOptions = {}): Promise<GpuReading[] | null> {
  const command = opts.command ?? 'nvidia-smi';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const state = opts.state ?? {};
  const first = state.throttleField ?? THROTTLE_FIELDS[0];
  let result = await run(command, first, timeoutMs);
  let field: ThrottleField = first;
  if (result.kind === 'invalid_field') {
    field = first === THROTTLE_FIELDS[0] ? THROTTLE_FIELDS[1] : THROTTLE_FIELDS[0];
    result = await run(command, field, timeoutMs);
  }
  switch (result.kind) {
    case 'absent':
      return null;
    case 'ok': {
      state.throttleField = field;
      const gpus = parseGpuCsv(result.stdout);
      if (!gpus.length) throw new LlmHealthError(ErrorCode.CommandFailed, `${command}: no GPU lines in output: ${clip(result.stdout)}`);
      return gpus;
    }
    case 'invalid_field':
      throw new LlmHealthError(ErrorCode.CommandFailed, `${command}: knows neither ${THROTTLE_FIELDS.join(' nor ')}: ${clip(result.output)}`);
    case 'timeout':
      throw new LlmHealthError(ErrorCode.CommandTimeout, `${command}: no answer within ${timeoutMs}ms`);
    case 'failed':
      throw new LlmHealthError(ErrorCode.CommandFailed, `${command}: ${result.detail}`);
  }
}

/** A reader that remembers, for its lifetime, which throttle field this driver knows. */
export function createGpuReader(cfg: Pick<GpuConfig, 'command'> & { timeoutMs?: number }): { read(): Promise<GpuReading[] | null> } {
  const state: GpuReaderState = {};
  return { read: () => readGpus({ command: cfg.command, timeoutMs: cfg.timeoutMs, state }) };
}

type RunResult =
  | { kind: 'ok'; stdout: string }
  | { kind: 'absent' }
  | { kind: 'invalid_field'; output: string }
  | { kind: 'timeout' }
  | { kind: 'failed'; detail: string };

function run(command: string, throttleField: ThrottleField, timeoutMs: number): Promise<RunResult> {
  const args = [`--query-gpu=${[...BASE_FIELDS, throttleField].join(',')}`, '--format=csv,noheader,nounits'];
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      resolve(r);
    };
    const backstop = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs + KILL_GRACE_MS);
    let child: ReturnType<typeof execFile>;
    try {
      child = execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_BUFFER, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
        if (!err) return settle({ kind: 'ok', stdout });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') return settle({ kind: 'absent' });
        if (e.killed && e.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return settle({ kind: 'timeout' });
        // nvidia-smi's only report of an unknown field is this sentence (stdout on some builds, stderr on others)
        const output = `${stdout}\n${stderr}`;
        if (/not a valid field/i.test(output) && output.includes(throttleField)) return settle({ kind: 'invalid_field', output });
        const status = typeof e.code === 'number' ? `exit ${e.code}` : (e.code ?? e.signal ?? 'failed');
        settle({ kind: 'failed', detail: `${status}: ${clip(stderr || stdout || e.message)}` });
      });
    } catch (err) {
      return settle({ kind: 'failed', detail: (err as Error).message });
    }
    child.on('error', () => {}); // reported through the callback
  });
}

function clip(text: string, max = 300): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export interface GpuProblem {
  gpu: number;
  uuid: string;
  kind: 'temperature' | 'memory' | 'ecc' | 'throttle';
  detail: string;
}

/** Warnings for one GPU against the configured thresholds (docs/configuration.md `gpu`). */
export function gpuProblems(reading: GpuReading, cfg: Pick<GpuConfig, 'temperatureWarn' | 'memoryWarnPercent'>): GpuProblem[] {
  const problems: GpuProblem[] = [];
  const add = (kind: GpuProblem['kind'], detail: string) => problems.push({ gpu: reading.index, uuid: reading.uuid, kind, detail: `GPU ${reading.index}: ${detail}` });
  if (reading.temperatureC !== null && reading.temperatureC >= cfg.temperatureWarn) add('temperature', `temperature ${reading.temperatureC}°C (warn at ${cfg.temperatureWarn}°C)`);
  if (reading.memoryUsedMiB !== null && reading.memoryTotalMiB) {
    const percent = (reading.memoryUsedMiB / reading.memoryTotalMiB) * 100;
    if (percent >= cfg.memoryWarnPercent) add('memory', `memory ${percent.toFixed(1)}% used (${reading.memoryUsedMiB}/${reading.memoryTotalMiB} MiB, warn at ${cfg.memoryWarnPercent}%)`);
  }
  if (reading.eccUncorrected !== null && reading.eccUncorrected > 0) add('ecc', `${reading.eccUncorrected} uncorrected ECC error(s) since driver load`);
  const harmful = reading.throttleReasons?.filter((r) => HARMFUL_REASONS.has(r)) ?? [];
  if (harmful.length) add('throttle', `clocks slowed by ${harmful.join(', ')}`);
  return problems;
}
