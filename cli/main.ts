#!/usr/bin/env node
/**
 * The `llm-health` command: picks a subcommand and hands it the remaining arguments.
 * Each subcommand module is imported lazily so `check` does not load the coordinator.
 */
import { interpreted } from '../agent/v8-flags.js';
import { commandRouter, runMain, type CommandTable } from './run.js';

const COMMANDS: CommandTable = {
  check: { summary: 'probe every service once, restart failed units, exit 0 when healthy', load: interpreted(async () => (await import('./check.js')).checkMain) },
  agent: { summary: 'run the agent daemon', load: interpreted(async () => (await import('./agent.js')).agentMain) },
  coordinator: { summary: 'run the coordinator daemon', load: async () => (await import('./coordinator.js')).coordinatorMain },
  status: { summary: 'fleet table from a coordinator', load: async () => (await import('./status.js')).statusMain },
  restart: { summary: 'restart services across the fleet as a rolling, health-gated job', load: async () => (await import('./restart.js')).restartMain },
  restarts: { summary: 'restart jobs: list, show, abort', load: async () => (await import('./restarts.js')).restartsMain },
  maintenance: { summary: 'maintenance on/off for a host: no automatic restarts, no pages, left out of restart jobs', load: async () => (await import('./maintenance.js')).maintenanceMain },
  silence: { summary: 'silences: add, list, expire (matchers, duration, comment)', load: async () => (await import('./silence.js')).silenceMain },
  config: { summary: 'config validate -c FILE: validate an agent or coordinator config', load: async () => (await import('./config.js')).configMain },
  deploy: { summary: "deploy polkit|sudoers -c FILE: the privilege file for that config's units", load: async () => (await import('./deploy.js')).deployMain },
  emulate: { summary: 'run an emulated LLM server (llamacpp, vllm, tgi, ollama, sglang, openai)', load: async () => (await import('../demo/emulator/cli.js')).emulateMain },
  demo: { summary: 'run the demo fleet (what npm start runs)', load: async () => (await import('../demo/main.js')).demoMain },
};

runMain(
  commandRouter(COMMANDS, {
    heading: 'usage: llm-health <command> [options]',
    version: async () => (await import('./version.js')).version,
  }),
);
