/**
 * Small statistics, argument parsing and output for benchmarks: every benchmark prints a
 * table of ours vs. baseline with the ratio side by side, and writes the same figures, the
 * raw samples and the machine it ran on to .bench-out/<name>-<time>.json (and -latest.json).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
/** the repository root (dist/bench/lib → ../../..) */
export const ROOT = resolve(here, '..', '..', '..');
export const OUT_DIR = join(ROOT, '.bench-out');

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function max(xs: number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

export function min(xs: number[]): number {
  return xs.length ? Math.min(...xs) : NaN;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Nearest-rank percentile `p` (0–100) of an ascending list; null when empty. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** ours / baseline, or null when either is missing */
export function ratio(ours: number | null | undefined, base: number | null | undefined): number | null {
  if (ours == null || base == null || !Number.isFinite(ours) || !Number.isFinite(base) || base === 0) return null;
  return ours / base;
}

export function fmt(v: number | null | undefined, digits = 2, unit = ''): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return `${v.toFixed(digits)}${unit}`;
}

export function fmtRatio(r: number | null): string {
  return r == null ? '—' : `${r.toFixed(2)}×`;
}

/** Prints a plain aligned table. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** Durations on the command line: 30s, 2m, 500ms, or seconds as a bare number. */
export function parseDurationArg(v: string | undefined, fallbackMs: number): number {
  if (v === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`expected a duration like 30s, 2m or 500ms, got ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export interface BenchArgs {
  durationMs?: number;
  runs?: number;
  hangRuns?: number;
  noMonit: boolean;
  rest: Record<string, string | boolean | undefined>;
}

export function benchArgs(argv = process.argv.slice(2), extra: Record<string, { type: 'string' | 'boolean' }> = {}): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      runs: { type: 'string' },
      'hang-runs': { type: 'string' },
      'no-monit': { type: 'boolean' },
      ...extra,
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (v: unknown, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Error(`--${flag}: expected an integer 0..1000, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    durationMs: values.duration === undefined ? undefined : parseDurationArg(values.duration as string, 0),
    runs: int(values.runs, 'runs'),
    hangRuns: int(values['hang-runs'], 'hang-runs'),
    noMonit: Boolean(values['no-monit']),
    rest: values as Record<string, string | boolean | undefined>,
  };
}

export function machineInfo(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = cpus();
  const curl = spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0];
  return {
    date: new Date().toISOString(),
    cpuModel: c[0]?.model,
    cores: c.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout?.trim(),
    curl,
    ...extra,
  };
}

/** Aggregate busy and total jiffies from /proc/stat (all cores). */
function cpuJiffies(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function busyBetween(a: { busy: number; total: number } | null, b: { busy: number; total: number } | null): number | null {
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** Fraction of all cores busy over `ms` (everything on the machine). */
export async function machineBusy(ms = 1_000): Promise<number | null> {
  const a = cpuJiffies();
  await sleep(ms);
  return busyBetween(a, cpuJiffies());
}

const QUIET_BELOW = 0.15;
const load: { busyBefore: number | null; loadavgBefore: number[]; startJiffies: ReturnType<typeof cpuJiffies> } = { busyBefore: null, loadavgBefore: [], startJiffies: null };

/**
 * Other work on this 2-core machine (a test suite, a demo) skews every figure: wait up to
 * `maxWaitMs` for the machine to be quiet, then go on either way and say so.
 */
async function waitQuiet(name: string, maxWaitMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await machineBusy(1_000);
  let warned = false;
  while (busy !== null && busy > QUIET_BELOW && Date.now() < deadline) {
    if (!warned) console.log(`${name}: the machine is busy (${(busy * 100).toFixed(0)} % of ${cpus().length} cores in use by other processes); waiting up to ${maxWaitMs / 1000} s for quiet`);
    warned = true;
    busy = await machineBusy(2_000);
  }
  if (busy !== null && busy > QUIET_BELOW) console.log(`${name}: WARNING: still busy (${(busy * 100).toFixed(0)} %): figures will be noisy`);
  load.busyBefore = busy;
  load.loadavgBefore = loadavg();
  load.startJiffies = cpuJiffies();
}

/** Writes .bench-out/<name>-<stamp>.json and <name>-latest.json; returns the first path. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(OUT_DIR, `${name}-${stamp}.json`);
  const withLoad = {
    ...result,
    load: {
      busyBeforeStart: load.busyBefore,
      loadavgBeforeStart: load.loadavgBefore,
      busyDuringRunInclBenchmark: busyBetween(load.startJiffies, cpuJiffies()),
      loadavgAtEnd: loadavg(),
    },
  };
  const text = `${JSON.stringify(withLoad, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(OUT_DIR, `${name}-latest.json`), text);
  return file;
}

/** Deterministic pseudo-random numbers (mulberry32), so both tools see the same delays. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `main`, prints a failure plainly, and exits with 0 / 1 (the exit handlers kill what is left). */
export function runBench(name: string, main: () => Promise<void>): void {
  const quietWait = Number(process.env.BENCH_QUIET_WAIT_S ?? 60) * 1000;
  waitQuiet(name, Number.isFinite(quietWait) ? Math.min(Math.max(quietWait, 0), 30 * 60_000) : 60_000).then(main).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`\n${name}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
