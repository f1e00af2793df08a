/**
 * The environment a systemd unit file gives its service (its `Environment=` lines), so a
 * benchmark runs the agent exactly as deploy/llm-health-agent.service does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './report.js';

/** deploy/llm-health-agent.service in the source tree */
export const AGENT_UNIT = join(ROOT, 'deploy', 'llm-health-agent.service');

/**
 * `Environment=` assignments in unit-file syntax: space-separated `KEY=value` words, a word
 * in double quotes may contain spaces (`Environment="NODE_OPTIONS=--a --b" X=1`). Later
 * assignments win, as in systemd. Specifiers and escapes are not used by our units.
 */
export function unitEnvironment(unitText: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitText.split('\n')) {
    const m = /^\s*Environment=(.*)$/.exec(line);
    if (!m) continue;
    for (const word of m[1]!.match(/"[^"]*"|\S+/g) ?? []) {
      const assignment = word.startsWith('"') ? word.slice(1, -1) : word;
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

let agentUnitEnv: Record<string, string> | undefined;

/** The agent unit's environment, read once per process (every agent a benchmark spawns uses it). */
export function agentUnitEnvironment(): Record<string, string> {
  agentUnitEnv ??= unitEnvironment(readFileSync(AGENT_UNIT, 'utf8'));
  return { ...agentUnitEnv };
}
