/**
 * Entry point of the one-file agent, `dist/llm-health-agent.mjs` (deploy/README.md `deploy`), built by
 * scripts/bundle-agent.mjs with esbuild straight from the TypeScript sources.
 *
 * A reduced cli/main.ts: only the commands a GPU host needs — `agent`, `check`,
 * `config validate` and `deploy` — so the bundle carries no coordinator, no SQLite native addon and no
 * demo, and runs with nothing but `node`. The command modules are the same ones the full CLI
 * uses; only the router differs. Exit codes are the CLI's (docs/cli.md): 0 success / healthy,
 * 1 unhealthy or failed, 2 usage or configuration error.
 *
 * `version` comes from cli/version.ts, which the bundler replaces with the package.json
 * version at build time (the bundle has no package.json next to it).
 */
import { interpreted } from '../agent/v8-flags.js';
import { commandRouter, runMain, type CommandTable } from '../cli/run.js';
import { version } from '../cli/version.js';

const COMMANDS: CommandTable = {
  check: { summary: 'probe every service once, restart failed units, exit 0 when healthy', load: interpreted(async () => (await import('../cli/check.js')).checkMain) },
  agent: { summary: 'run the agent daemon', load: interpreted(async () => (await import('../cli/agent.js')).agentMain) },
  config: { summary: 'config validate -c FILE: validate an agent or coordinator config', load: async () => (await import('../cli/config.js')).configMain },
  deploy: { summary: "deploy polkit|sudoers -c FILE: the privilege file for that config's units", load: async () => (await import('../cli/deploy.js')).deployMain },
};

runMain(
  commandRouter(COMMANDS, {
    heading: `usage: llm-health <command> [options]        (one-file agent build, version ${version})`,
    notes: ['coordinator, status, restart, silence and demo need the full llm-health package'],
    unknownHint: ' (this is the one-file agent build)',
    version: () => version,
  }),
);
