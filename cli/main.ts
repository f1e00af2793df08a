#!/usr/bin/env node
/**
 * The `llm-health` command: picks a subcommand and hands it the remaining arguments.
 * Each subcommand module is imported lazily so `check` does not load the coordinator.
 */
import { runMain, tuneForAgent } from './run.js';

type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Main> }> = {
  check: { summary: 'probe every service once, restart failed units, exit 0 when healthy', load: async () => (await import('./check.js')).checkMain },
  agent: { summary: 'run the agent daemon', load: async () => (await import('./agent.js')).agentMain },
  coordinator: { summary: 'run the coordinator daemon', load: async () => (await import('./coordinator.js')).coordinatorMain },
  status: { summary: 'fleet table from a coordinator', load: async () => (await import('./status.js')).statusMain },
  silence: { summary: 'silences: add, list, expire (matchers, duration, comment)', load: async () => (await import('./silence.js')).silenceMain },
  config: { summary: 'config validate -c FILE: validate an agent or coordinator config', load: async () => (await import('./config.js')).configMain },
  emulate: { summary: 'run an emulated LLM server (llamacpp, vllm, tgi, ollama, sglang, openai)', load: async () => (await import('../demo/emulator/cli.js')).emulateMain },
  demo: { summary: 'run the demo fleet (what npm start runs)', load: async () => (await import('../demo/main.js')).demoMain },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'usage: llm-health <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 success / healthy, 1 unhealthy or failed, 2 usage or configuration error',
    'run `llm-health <command> --help` for a command\'s options',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  await tuneForAgent(name);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { version } = await import('./version.js');
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`llm-health: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 2;
  }
  const run = await cmd.load();
  return run(rest);
}

runMain(main);
