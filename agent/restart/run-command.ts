/**
 * Runs one external command for the restart executor: argv only (never a shell), under a
 * deadline, with bounded output. Every way it can go wrong (missing binary, non-zero exit,
 * hang, flood of output) comes back as an outcome, because a failing `systemctl` is an event
 * for the agent to report, not a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CommandOutcome {
  /** exited with status 0, not killed, not timed out */
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** capped at outputCapBytes; ends with a marker when bytes were dropped */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  timedOut: boolean;
  argv: string[];
}

export interface RunOptions {
  timeoutMs: number;
  outputCapBytes: number;
  /** keep the last bytes rather than the first (journal tails: the newest lines matter) */
  keep?: 'head' | 'tail';
  /** after SIGTERM at the deadline, how long before SIGKILL */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_KILL_GRACE_MS = 2_000;
/** after the process exits, how long stray holders of its pipes may keep them open */
const PIPE_DRAIN_MS = 200;

/** Collects at most `cap` bytes from a stream, counting what it drops. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(
    private readonly cap: number,
    private readonly keep: 'head' | 'tail',
  ) {}

  push(chunk: Buffer): void {
    if (this.keep === 'head') {
      const room = Math.max(0, this.cap - this.kept);
      if (room > 0) {
        const part = chunk.subarray(0, room);
        this.chunks.push(part);
        this.kept += part.length;
      }
      this.dropped += chunk.length - Math.min(room, chunk.length);
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > this.cap && this.chunks.length) {
      const first = this.chunks[0]!;
      const excess = this.kept - this.cap;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    const buf = Buffer.concat(this.chunks);
    if (!this.dropped) return buf.toString('utf8');
    // cut on a character boundary so the kept part decodes cleanly
    const body = this.keep === 'head' ? buf.subarray(0, utf8Boundary(buf, buf.length)) : buf.subarray(utf8Start(buf));
    const marker = `[... ${this.dropped} bytes truncated]`;
    return this.keep === 'head' ? `${body.toString('utf8')}\n${marker}` : `${marker}\n${body.toString('utf8')}`;
  }
}

/** Largest end <= n that does not split a UTF-8 sequence. */
function utf8Boundary(buf: Buffer, n: number): number {
  let i = n;
  while (i > 0 && i > n - 4 && (buf[i - 1]! & 0xc0) === 0x80) i--;
  if (i > 0 && buf[i - 1]! >= 0xc0) {
    const lead = buf[i - 1]!;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (n - (i - 1) < need) return i - 1;
  }
  return n;
}

/** First index that starts a UTF-8 character (skips continuation bytes at the cut). */
function utf8Start(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && i < 4 && (buf[i]! & 0xc0) === 0x80) i++;
  return i;
}

export function runCommand(argv: string[], options: RunOptions): Promise<CommandOutcome> {
  const started = Date.now();
  const [file, ...args] = argv;
  const stdout = new CappedBuffer(options.outputCapBytes, options.keep ?? 'head');
  const stderr = new CappedBuffer(options.outputCapBytes, options.keep ?? 'head');
  const finish = (fields: Pick<CommandOutcome, 'exitCode' | 'signal' | 'timedOut'>, extraStderr = ''): CommandOutcome => {
    const errText = stderr.text() + extraStderr;
    return {
      ok: fields.exitCode === 0 && !fields.timedOut && fields.signal === null,
      ...fields,
      stdout: stdout.text(),
      stderr: errText,
      stdoutTruncated: stdout.dropped > 0,
      stderrTruncated: stderr.dropped > 0,
      durationMs: Date.now() - started,
      argv: [...argv],
    };
  };
  if (!file) return Promise.resolve(finish({ exitCode: null, signal: null, timedOut: false }, 'empty command'));

  return new Promise((resolve) => {
    // its own process group, so a timeout takes down whatever the command started too
    // (a wrapper script's sleep, sudo's child) instead of leaving it running
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: options.env ?? process.env, shell: false });
    let settled = false;
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const killGroup = (signal: NodeJS.Signals) => signalGroup(child, signal);

    const deadline = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    }, options.timeoutMs);

    const done = (outcome: CommandOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(drainTimer);
      // the group may outlive its leader after a timeout; make sure nothing of it stays
      if (timedOut) killGroup('SIGKILL');
      clearTimeout(killTimer);
      resolve(outcome);
    };

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.once('error', (err: NodeJS.ErrnoException) => done(finish({ exitCode: null, signal: null, timedOut: false }, spawnFailure(file, err))));
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // a grandchild that inherited the pipes can hold them open; do not wait on it forever
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_DRAIN_MS);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const e = exit ?? { code, signal };
      done(finish({ exitCode: e.code, signal: e.signal, timedOut }, timedOut ? `${stderr.text() ? '\n' : ''}timed out after ${options.timeoutMs} ms` : ''));
    });
  });
}

/** The whole process group of `child`, or the child alone when it has none. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function spawnFailure(file: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `cannot run ${JSON.stringify(file)}: command not found (${file.includes('/') ? 'no such file' : 'not on PATH'}; spawn ENOENT)`;
  if (err.code === 'EACCES') return `cannot run ${JSON.stringify(file)}: permission denied (spawn EACCES)`;
  return `cannot run ${JSON.stringify(file)}: ${err.message}`;
}
