/**
 * At start, `check` and `agent` compare their config with the privilege file installed on
 * this host: a unit the rule does not list fails only at its first restart, which is the
 * worst moment to find out.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { AgentConfig } from '../../shared/config/agent-config.js';
import { POLKIT_RULE_PATH, polkitRuleUnits } from './polkit-rule.js';
import { SUDOERS_PATH, sudoersAllowsRestart } from './sudoers.js';
import { configuredUnits } from './units.js';

export interface InstalledPaths {
  polkitRule: string;
  sudoers: string;
}
export const INSTALLED_PATHS: InstalledPaths = { polkitRule: POLKIT_RULE_PATH, sudoers: SUDOERS_PATH };

/** The file's text; undefined when it is absent or unreadable (sudoers.d is root-only). */
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * One warning per configured unit missing from the installed privilege file that applies:
 * the sudoers file when restart.systemctl goes through sudo, the polkit rule otherwise.
 * Nothing when restarts are off or when no such file is installed (or readable).
 */
export function privilegeWarnings(config: Pick<AgentConfig, 'file' | 'services' | 'restart'>, paths: InstalledPaths = INSTALLED_PATHS): string[] {
  if (!config.restart.enabled) return [];
  const units = configuredUnits(config.services);
  if (units.length === 0) return [];
  const prefix = config.restart.systemctl;
  if (basename(prefix[0] ?? '') === 'sudo') {
    const text = readIfThere(paths.sudoers);
    if (text === undefined) return [];
    return units
      .filter((u) => !sudoersAllowsRestart(text, prefix, u))
      .map((u) => `unit ${u} is not allowed in ${paths.sudoers}: its restarts will be refused (write the file again with: llm-health deploy sudoers -c ${config.file})`);
  }
  const text = readIfThere(paths.polkitRule);
  const listed = text === undefined ? undefined : polkitRuleUnits(text);
  if (listed === undefined) return [];
  return units
    .filter((u) => !listed.includes(u))
    .map((u) => `unit ${u} is not listed in ${paths.polkitRule}: its restarts will be refused (write the rule again with: llm-health deploy polkit -c ${config.file})`);
}
