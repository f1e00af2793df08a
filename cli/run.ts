import { ConfigError, ErrorCode, LlmHealthError } from '../shared/errors.js';

/**
 * Runs a command-line entry point and turns its outcome into the exit codes of SPEC §3:
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
 * The agent lives on every GPU host: keep it small. undici's HTTP parser is WebAssembly;
 * V8's optimising tier-up of it briefly costs ~35 MB of resident memory for no gain at a
 * few requests per second, so the agent commands use the baseline compiler alone.
 */
export async function tuneForAgent(command: string | undefined): Promise<void> {
  if (command !== 'agent' && command !== 'check') return;
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--liftoff-only');
}
