/**
 * The polkit rule that lets the agent restart exactly its configured units
 * (deploy/polkit/50-llm-health.rules is this output for deploy/examples/seed.yaml).
 */
import { MANAGE_UNITS_VERBS } from '../restart/systemctl.js';
import { SERVICE_USER } from './units.js';

export const POLKIT_RULE_PATH = '/etc/polkit-1/rules.d/50-llm-health.rules';

const HEADER = `// Part of llm-health. Installed as ${POLKIT_RULE_PATH} (install.sh never
// overwrites an existing copy: this file holds the host's unit list).
//
// Lets the unprivileged \`${SERVICE_USER}\` user (llm-health-agent.service, llm-health-check.service,
// the cron line) restart exactly the LLM server units listed in UNITS below, and reset-failed
// them (an operator's restart job does it first, to clear systemd's start limit). Nothing
// else: no start, stop, enable, kill or set-property, and no other unit. systemd asks
// polkit for org.freedesktop.systemd1.manage-units with the details "unit" (the full unit name)
// and "verb" ("restart", ...); reading a unit's state (systemctl show) needs no permission.
// sudo is no alternative for the systemd units: they run with NoNewPrivileges=true, which
// blocks setuid programs.
//
// GENERATED from the agent's config: UNITS holds every \`unit:\` of its services. After changing
// a unit there, write this file again with
//   llm-health deploy polkit -c /etc/llm-health/agent.yaml > ${POLKIT_RULE_PATH}
// (\`llm-health check\` and \`llm-health agent\` warn at start about units missing here). A unit
// missing here makes the agent's restart fail with "Access denied" / "Interactive
// authentication required", reported as a restart_failed event and an LLMRestartFailed alert.
// polkitd re-reads this directory on change; no restart is needed.
//
// Needs polkitd (Debian 12: \`apt install polkitd\`; older: policykit-1). Written in ES5 for
// polkit's JavaScript interpreters (mozjs and duktape).
`;

const list = (items: readonly string[], indent: string) =>
  items.length === 0 ? '[]' : `[\n${items.map((i) => `${indent}  ${JSON.stringify(i)}`).join(',\n')}\n${indent}]`;

/** The rule file for these units (validated unit names: nothing in them needs JavaScript escaping beyond JSON's). */
export function polkitRule(units: readonly string[]): string {
  const verbs = MANAGE_UNITS_VERBS.map((v) => JSON.stringify(v)).join(', ');
  return `${HEADER}(function () {
  var UNITS = ${list(units, '  ')};
  var USER = ${JSON.stringify(SERVICE_USER)};
  var VERBS = [${verbs}];

  polkit.addRule(function (action, subject) {
    if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== USER) {
      return polkit.Result.NOT_HANDLED;
    }
    var unit = action.lookup("unit");
    var verb = action.lookup("verb");
    if (UNITS.indexOf(unit) >= 0 && VERBS.indexOf(verb) >= 0) {
      return polkit.Result.YES;
    }
    // Anything else this user asks of systemd is refused outright, whatever later rules say.
    return polkit.Result.NO;
  });
})();
`;
}

/**
 * The units an installed rule lists (its `UNITS = [...]` array), or undefined when the file
 * has no such list (written by hand in another shape: then nothing can be said about it).
 */
export function polkitRuleUnits(text: string): string[] | undefined {
  const m = /\bUNITS\s*=\s*\[([^\]]*)\]/.exec(text.replace(/\/\/.*$/gm, ''));
  if (!m) return undefined;
  return [...m[1]!.matchAll(/"([^"\\]*)"|'([^'\\]*)'/g)].map((q) => q[1] ?? q[2]!);
}
