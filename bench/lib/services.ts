/**
 * Emulated LLM servers as units of the service-manager stand-in (so a restart really
 * restarts them), plus a timestamping `systemctl` wrapper that both our agent and monit
 * call: every invocation is logged as `<epoch seconds>\t<argv...>` and then exec'd into
 * the stand-in. That log is the one clock both tools are measured by.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinDir } from '../../demo/service-manager/install-bin.js';
import { currentState, stopAllUnits } from '../../demo/service-manager/manager.js';
import { SERVICE_DIR_ENV, stateDir } from '../../demo/service-manager/paths.js';
import { readState } from '../../demo/service-manager/state.js';
import { writeUnit } from '../../demo/service-manager/units.js';
import { onEmergencyExit, pollUntil } from './proc.js';
export { freePort } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/cli/main.js */
export const CLI = resolve(here, '..', '..', 'cli', 'main.js');

export type Kind = 'llamacpp' | 'vllm' | 'tgi' | 'ollama' | 'sglang' | 'openai';

/** The liveness path each kind answers on (what a seed-style curl or monit check asks). */
export function alivePath(kind: Kind): string {
  if (kind === 'ollama') return '/api/version';
  if (kind === 'openai') return '/v1/models';
  return '/health';
}

export interface SystemctlCall {
  /** epoch milliseconds (wall clock) */
  at: number;
  argv: string[];
}

export interface BenchServices {
  dir: string;
  /** the timestamping wrapper: use it as restart.systemctl and in monit's programs */
  systemctl: string;
  /** environment with the stand-in's bin dir first on PATH and LLMH_SERVICE_DIR set */
  env: NodeJS.ProcessEnv;
  emulatorUnit(unit: string, kind: Kind, port: number, args?: string[]): string;
  /** runs the wrapper (so it lands in the log too); rejects on a non-zero exit */
  ctl(...args: string[]): Promise<string>;
  mainPid(unit: string): number;
  /** epoch ms the unit's current main process started (0 when none) */
  mainStartedAt(unit: string): number;
  calls(): SystemctlCall[];
  /** calls that change a unit's state (start, stop, restart) after `sinceMs` */
  actions(sinceMs: number, unit?: string): SystemctlCall[];
  cleanup(): Promise<void>;
}

export const ACTION_VERBS = new Set(['start', 'stop', 'restart', 'try-restart', 'reload-or-restart']);

export function createBenchServices(label: string): BenchServices {
  const dir = mkdtempSync(join(tmpdir(), `llmh-bench-${label}-`));
  const standInBin = ensureBinDir();
  const binDir = join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  const log = join(dir, 'systemctl-calls.tsv');
  writeFileSync(log, '');
  const systemctl = join(binDir, 'systemctl');
  const nodeDir = dirname(process.execPath);
  // bash's $EPOCHREALTIME is `date +%s.%N` without the fork; one write per line (O_APPEND)
  writeFileSync(
    systemctl,
    `#!/bin/bash
# llm-health bench: log the call with a timestamp, then run the service-manager stand-in
t=\${EPOCHREALTIME:-$(date +%s.%N)}
line="$t"
for a in "$@"; do line+=$'\\t'"$a"; done
printf '%s\\n' "$line" >> ${shellQuote(log)}
export PATH=${shellQuote(`${standInBin}:${nodeDir}`)}:"\${PATH:-/usr/bin:/bin}"
# the stand-in is a node program standing in for a C binary: the agent's node tuning
# (NODE_OPTIONS, MALLOC_ARENA_MAX from its unit) means nothing to the real systemctl
unset NODE_OPTIONS MALLOC_ARENA_MAX
exec ${shellQuote(join(standInBin, 'systemctl'))} "$@"
`,
  );
  chmodSync(systemctl, 0o755);
  // the agent looks for journalctl beside its systemctl
  writeFileSync(join(binDir, 'journalctl'), `#!/bin/sh\nexport PATH=${shellQuote(`${standInBin}:${nodeDir}`)}:"$PATH"\nunset NODE_OPTIONS MALLOC_ARENA_MAX\nexec ${shellQuote(join(standInBin, 'journalctl'))} "$@"\n`);
  chmodSync(join(binDir, 'journalctl'), 0o755);

  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [binDir, standInBin, process.env.PATH].filter(Boolean).join(':'), [SERVICE_DIR_ENV]: dir };
  const unregister = onEmergencyExit(() => killUnitsSync(dir));

  const calls = (): SystemctlCall[] => {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [t, ...argv] = line.split('\t');
        return { at: Number(t) * 1000, argv };
      });
  };

  return {
    dir,
    systemctl,
    env,
    emulatorUnit(unit, kind, port, args = []) {
      writeUnit(dir, unit, {
        execStart: [process.execPath, CLI, 'emulate', '--kind', kind, '--port', String(port), ...args],
        timeoutStopSec: '3s',
        // both tools restart the same unit many times in a row; systemd's 5-in-10s limit
        // would turn that into start-limit-hit for whichever tool happened to be second
        startLimitBurst: 1000,
        startLimitIntervalSec: '1s',
      });
      return unit;
    },
    ctl(...args) {
      return new Promise((resolvePromise, reject) => {
        execFile(systemctl, args, { env, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) reject(new Error(`systemctl ${args.join(' ')}: ${stderr || err.message}`));
          else resolvePromise(stdout);
        });
      });
    },
    mainPid: (unit) => currentState(dir, unit).mainPid,
    mainStartedAt: (unit) => {
      const st = currentState(dir, unit);
      return st.mainPid ? st.execMainStartTimestamp : 0;
    },
    calls,
    actions(sinceMs, unit) {
      return calls().filter((c) => c.at >= sinceMs && ACTION_VERBS.has(c.argv[0] ?? '') && (unit === undefined || c.argv.includes(unit)));
    },
    async cleanup() {
      await stopAllUnits(dir);
      killUnitsSync(dir);
      unregister();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGKILL to every supervisor and main process group the state files name (emergency path). */
function killUnitsSync(dir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(stateDir(dir)).filter((f) => f.endsWith('.service.json'));
  } catch {
    return;
  }
  for (const f of files) {
    const s = readState(dir, f.slice(0, -'.json'.length));
    for (const pid of [s.mainPid, s.supervisorPid]) {
      if (!pid) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGCONT');
          process.kill(target, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A loopback port nobody listens on right now. */

/**
 * One GET on a fresh connection (no pooling: a pooled socket to a stopped server would
 * hide when the new one answers). Resolves with the status, or 0 on error / timeout.
 */
export function httpStatus(port: number, path: string, timeoutMs = 500): Promise<number> {
  return new Promise((resolvePromise) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolvePromise(code);
    };
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      finish(res.statusCode ?? 0);
    });
    const timer = setTimeout(() => finish(0), timeoutMs);
    req.once('error', () => finish(0));
    req.end();
  });
}

export async function waitHealthy(port: number, path: string, timeoutMs = 15_000): Promise<boolean> {
  return (await pollUntil(async () => (await httpStatus(port, path)) === 200, timeoutMs, 50)) === true;
}

/** The emulator's count of requests served so far (its control routes are not counted); null on error. */
export function emulatorRequests(port: number): Promise<number | null> {
  return new Promise((resolvePromise) => {
    let done = false;
    const finish = (v: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolvePromise(v);
    };
    const req = request({ host: '127.0.0.1', port, path: '/__emulator/state', method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          const n = (JSON.parse(body) as { requests?: unknown }).requests;
          finish(typeof n === 'number' ? n : null);
        } catch {
          finish(null);
        }
      });
    });
    const timer = setTimeout(() => finish(null), 1_000);
    req.once('error', () => finish(null));
    req.end();
  });
}

/** POST /__emulator/mode; false when the server did not take it (it may be restarting). */
export function setMode(port: number, mode: string, extra: Record<string, unknown> = {}): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const body = JSON.stringify({ mode, ...extra });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolvePromise(ok);
    };
    const req = request(
      { host: '127.0.0.1', port, path: '/__emulator/mode', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' } },
      (res) => {
        res.resume();
        finish(res.statusCode === 200);
      },
    );
    const timer = setTimeout(() => finish(false), 1_000);
    req.once('error', () => finish(false));
    req.end(body);
  });
}

/**
 * Polls `path` every `everyMs` on fresh connections (at most `maxInFlight` at once, each
 * with `timeoutMs`) and remembers when the first 200 arrived for a request sent at or after
 * `armedAt`. Bounded: stops itself after `maxMs`.
 */
export class HealthPoller {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private armedAt = Infinity;
  private firstOkAt: number | null = null;
  private waiters: (() => void)[] = [];
  private readonly stopAt: number;
  sent = 0;

  constructor(
    private readonly port: number,
    private readonly path: string,
    private readonly opts: { everyMs?: number; timeoutMs?: number; maxInFlight?: number; maxMs?: number } = {},
  ) {
    this.stopAt = Date.now() + (opts.maxMs ?? 10 * 60_000);
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), this.opts.everyMs ?? 20);
    return this;
  }

  /** From now on, look for the first 200 of a request sent at or after `at`. */
  arm(at: number): void {
    this.armedAt = at;
    this.firstOkAt = null;
  }

  get okAt(): number | null {
    return this.firstOkAt;
  }

  waitOk(timeoutMs: number): Promise<number | null> {
    if (this.firstOkAt !== null) return Promise.resolve(this.firstOkAt);
    return new Promise((resolvePromise) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolvePromise(null);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(t);
        resolvePromise(this.firstOkAt);
      };
      this.waiters.push(wake);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (Date.now() > this.stopAt) return this.stop();
    if (this.inFlight >= (this.opts.maxInFlight ?? 5)) return;
    const sentAt = Date.now();
    this.inFlight++;
    this.sent++;
    void httpStatus(this.port, this.path, this.opts.timeoutMs ?? 500).then((code) => {
      this.inFlight--;
      const at = Date.now();
      if (code === 200 && sentAt >= this.armedAt && this.firstOkAt === null) {
        this.firstOkAt = at;
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w();
      }
    });
  }
}
