import { ConfigError, ErrorCode, LlmHealthError } from '../shared/errors.js';

/**
 * Runs a command-line entry point and turns its outcome into the exit codes of docs/cli.md:
 * the returned code, 2 for configuration and usage errors (their message names file, key
 * path and expectation), 1 for anything else. Shared by `llm-health` and the one-file agent.
 */
export function runMain(main: (argv: string[]) => Promise<number>, argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`llm-health: configuration error\n${err.message}\n`);
        process.exitCode = 2;
      } else if (err instanceof LlmHealthError && err.code === ErrorCode.Usage) {
        process.stderr.write(`llm-health: ${err.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`llm-health: ${(err as Error)?.stack ?? String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}

/**
 * The agent lives on every GPU host: keep it small. At a few requests per second nothing in
 * it runs hot enough to repay a compiler, and compilers cost resident memory (their code
 * pages in the node binary, compile buffers, the code they make), so the agent commands
 * run their JavaScript on V8's interpreter and undici's WebAssembly HTTP parser on the
 * baseline tier:
 * - `--liftoff-only`: tiering the parser up briefly cost ~35 MB for no gain;
 * - `--no-opt`, `--no-sparkplug`: ~7 MB less RSS; a probe costs the same CPU within noise
 *   (bench/probe-cost applies these flags to what it measures).
 * Not here: `--compact-on-every-full-gc` lowered the first seconds' plateau but raised the
 * peak (evacuation copies live objects before freeing pages: 67 vs 64 MB), and
 * `--single-threaded-gc` aborts V8 when set after start-up.
 * Flags that must be set before V8 starts (semi-space size, worker threads, malloc arenas)
 * are in the agent's unit (deploy/llm-health-agent.service); bench/footprint runs the agent
 * with that environment.
 */
export const AGENT_V8_FLAGS = ['--liftoff-only', '--no-opt', '--no-sparkplug'];

export async function tuneForAgent(command: string | undefined): Promise<void> {
  if (command !== 'agent' && command !== 'check') return;
  const { setFlagsFromString } = await import('node:v8');
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
}

let fullGc: (() => void) | undefined;

/**
 * One full garbage collection, now. The agent daemon calls it twice while starting: after
 * its config is loaded (ajv's compiled validators, the YAML tree, the unloaded libraries)
 * and after its own modules are loaded. V8 would keep that garbage until its memory reducer
 * runs, about 8 s after start, and the first probe round would take fresh pages on top of
 * it; collected, the round reuses them. The agent's peak resident memory was that sum
 * (bench/footprint: about 2.5 MB lower with both collections).
 * `gc` is made available only inside a throwaway vm context (V8 installs it in contexts
 * created while --expose-gc is set), never on the process's own global object.
 */
export async function collectGarbageNow(): Promise<void> {
  if (!fullGc) {
    const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
    setFlagsFromString('--expose-gc');
    try {
      fullGc = runInNewContext('gc') as () => void;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  fullGc();
}

export type CommandMain = (argv: string[]) => Promise<number>;
export type CommandTable = Record<string, { summary: string; load: () => Promise<CommandMain> }>;

export interface RouterOptions {
  /** the first usage line */
  heading: string;
  /** extra lines after the standard ones */
  notes?: string[];
  /** added after "unknown command X" */
  unknownHint?: string;
  version: () => string | Promise<string>;
}

/** The usage text: heading, one line per command, exit codes. */
export function commandUsage(commands: CommandTable, opts: RouterOptions): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    opts.heading,
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 success / healthy, 1 unhealthy or failed, 2 usage or configuration error',
    "run `llm-health <command> --help` for a command's options",
    ...(opts.notes ?? []),
  ].join('\n');
}

/**
 * Picks a subcommand and hands it the remaining arguments. Shared by `llm-health` and the
 * one-file agent; each passes its own table (modules load lazily, so `check` never loads the
 * coordinator).
 */
export function commandRouter(commands: CommandTable, opts: RouterOptions): CommandMain {
  return async (argv) => {
    const [name, ...rest] = argv;
    await tuneForAgent(name);
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(`${commandUsage(commands, opts)}\n`);
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-V') {
      process.stdout.write(`${await opts.version()}\n`);
      return 0;
    }
    const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!cmd) {
      process.stderr.write(`llm-health: unknown command ${JSON.stringify(name)}${opts.unknownHint ?? ''}\n\n${commandUsage(commands, opts)}\n`);
      return 2;
    }
    return (await cmd.load())(rest);
  };
}
