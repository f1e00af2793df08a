/**
 * The sudoers file for the cron path (deploy/sudoers/llm-health is this output for
 * deploy/examples/seed.yaml): exactly the command lines the agent runs, one per unit.
 */
import { basename, isAbsolute } from 'node:path';
import { systemctlArgs } from '../restart/systemctl.js';
import { SERVICE_USER } from './units.js';

export const SUDOERS_PATH = '/etc/sudoers.d/llm-health';

const HEADER = `# Part of llm-health: the sudo variant, FOR THE CRON PATH ONLY (deploy/llm-health.cron), on
# hosts without polkit. The systemd units cannot use it: they run with NoNewPrivileges=true,
# under which sudo cannot gain root. Everywhere else use the polkit rule
# (llm-health deploy polkit).
#
# The matching agent config (/etc/llm-health/agent.yaml) is
#   restart:
#     systemctl: [sudo, -n, systemctl]
# The agent then runs exactly the command lines below ("-n": never prompt, fail instead).
# It also runs \`systemctl show -p ...\` through the same prefix to read the unit's state, so
# those lines are listed too. journalctl runs without sudo (membership in systemd-journal).
#
# Exact command lines, no wildcards: one restart and one show line per unit. GENERATED from
# the agent's config; after changing a unit there, write it again and check it:
#   llm-health deploy sudoers -c /etc/llm-health/agent.yaml > /tmp/llm-health.sudoers
#   visudo -cf /tmp/llm-health.sudoers && install -m 0440 -o root -g root /tmp/llm-health.sudoers ${SUDOERS_PATH}
# (install.sh copies it only to $PREFIX/share/llm-health/sudoers/, never into /etc/sudoers.d).
`;

/**
 * The command sudo runs for a \`restart.systemctl\` prefix such as [sudo, -n, systemctl] or
 * [sudo, /bin/systemctl, --no-ask-password]: from the systemctl element on. sudoers needs an
 * absolute path; a bare \`systemctl\` is where Debian and its kin install it.
 */
export function sudoCommand(prefix: readonly string[]): string[] {
  let at = prefix.length - 1;
  while (at > 0 && basename(prefix[at]!) !== 'systemctl') at--;
  if (basename(prefix[at] ?? '') !== 'systemctl') at = prefix.length - 1;
  const [bin = 'systemctl', ...extra] = prefix.slice(at);
  return [isAbsolute(bin) ? bin : `/usr/bin/${bin}`, ...extra];
}

/** sudoers reads these as syntax inside a command's arguments. */
const escapeArg = (arg: string) => arg.replace(/[\\,:=]/g, (c) => `\\${c}`);
const commandLine = (argv: readonly string[]) => argv.map(escapeArg).join(' ');

export function restartCommandLine(prefix: readonly string[], unit: string): string {
  return commandLine([...sudoCommand(prefix), ...systemctlArgs.restart(unit)]);
}

/** The file for these units; `prefix` is the config's restart.systemctl. At least one unit. */
export function sudoersFile(units: readonly string[], prefix: readonly string[]): string {
  const rule = (kind: keyof typeof systemctlArgs) =>
    `${SERVICE_USER} ALL=(root) NOPASSWD: ${units.map((u) => commandLine([...sudoCommand(prefix), ...systemctlArgs[kind](u)])).join(', ')}`;
  return `${HEADER}Defaults:${SERVICE_USER} !requiretty
${rule('restart')}
${rule('resetFailed')}
# systemctl show: commas inside an argument are escaped (\\,) because sudoers separates commands with ","
${rule('show')}
`;
}

/** Whether an installed sudoers text allows restarting this unit exactly as the agent runs it. */
export function sudoersAllowsRestart(text: string, prefix: readonly string[], unit: string): boolean {
  const line = restartCommandLine(prefix, unit);
  return text.split('\n').some((l) => !l.trimStart().startsWith('#') && l.split(/\s*(?:NOPASSWD:|(?<!\\),)\s*/).some((part) => part.trim() === line));
}
