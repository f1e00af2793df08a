/**
 * Entry point of the one-file agent, `dist/llm-health-agent.mjs` (SPEC §1 `deploy`), built by
 * scripts/bundle-agent.mjs with esbuild straight from the TypeScript sources.
 *
 * A reduced cli/main.ts: only the commands a GPU host needs — `agent`, `check` and
 * `config validate` — so the bundle carries no coordinator, no SQLite native addon and no
 * demo, and runs with nothing but `node`. The command modules are the same ones the full CLI
 * uses; only the router differs. Exit codes are the CLI's (SPEC §3): 0 success / healthy,
 * 1 unhealthy or failed, 2 usage or configuration error.
 *
 * `version` comes from cli/version.ts, which the bundler replaces with the package.json
 * version at build time (the bundle has no package.json next to it).
 */
import { runMain, tuneForAgent } from '../cli/run.js';
import { version } from '../cli/version.js';

type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Main> }> = {
  check: { summary: 'probe every service once, restart failed units, exit 0 when healthy', load: async () => (await import('../cli/check.js')).checkMain },
  agent: { summary: 'run the agent daemon', load: async () => (await import('../cli/agent.js')).agentMain },
  config: { summary: 'config validate -c FILE: validate an agent or coordinator config', load: async () => (await import('../cli/config.js')).configMain },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    `usage: llm-health <command> [options]        (one-file agent build, version ${version})`,
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 success / healthy, 1 unhealthy or failed, 2 usage or configuration error',
    "run `llm-health <command> --help` for a command's options",
    'coordinator, status, restart, silence and demo need the full llm-health package',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  await tuneForAgent(name);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`llm-health: unknown command ${JSON.stringify(name)} (this is the one-file agent build)\n\n${usage()}\n`);
    return 2;
  }
  const run = await cmd.load();
  return run(rest);
}

runMain(main);
