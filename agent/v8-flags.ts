import { setFlagsFromString } from 'node:v8';

/**
 * The agent lives on every GPU host: keep it small. At about one request per server per
 * second nothing in it runs hot enough to repay a compiler, and compilers cost resident
 * memory, so `agent` and `check` run their JavaScript on V8's interpreter and undici's
 * WebAssembly HTTP parser on the baseline tier (bench/README.md, "Agent footprint"):
 * - `--liftoff-only`: tiering the parser up briefly cost ~35 MB (a 104 MB peak without it);
 * - `--no-opt`, `--no-sparkplug`: ~4 MB less resident memory; the agent's CPU is the same
 *   within noise (1.25 vs 1.30 % of a core with 8 servers at 1 s).
 * V8 does not take these in NODE_OPTIONS, so the commands set them themselves, before they
 * load the code they apply to.
 */
export const AGENT_V8_FLAGS = ['--liftoff-only', '--no-opt', '--no-sparkplug'];

export function runOnInterpreter(): void {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
}

/** A command loader that sets the flags first, before the command's code is loaded. */
export function interpreted<T>(load: () => Promise<T>): () => Promise<T> {
  return () => {
    runOnInterpreter();
    return load();
  };
}
