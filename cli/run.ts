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
