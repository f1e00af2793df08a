import { parseCommandArgs, usageError } from './args.js';
import { parseAgentConfig, UNIT_NAME_RE } from '../shared/config/agent-config.js';
import { readConfigFile } from '../shared/config/load.js';
import { ConfigError } from '../shared/errors.js';
import { polkitRule } from '../agent/privileges/polkit-rule.js';
import { sudoersFile } from '../agent/privileges/sudoers.js';
import { configuredUnits } from '../agent/privileges/units.js';

const HELP = `usage: llm-health deploy polkit|sudoers -c agent.yaml

Prints the privilege file that lets the agent restart exactly the units of that config:
  polkit    the polkit rule, for /etc/polkit-1/rules.d/50-llm-health.rules
  sudoers   the sudoers file for the cron path, for /etc/sudoers.d/llm-health
            (check it with visudo -cf before installing it)
\${VAR} references need not be set (only the units are read). Exit 0 printed, 2 on a usage
or configuration error (a unit taken from an unset variable, no unit at all).`;

export async function deployMain(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (what !== 'polkit' && what !== 'sudoers') throw usageError(`deploy: expected "polkit" or "sudoers", got ${JSON.stringify(what ?? '')}\n${HELP}`);
  const { values } = parseCommandArgs(`deploy ${what}`, rest, {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.config) throw usageError(`deploy ${what}: -c FILE is required\n${HELP}`);
  const file = values.config;
  // run where the secrets are not (install.sh, a workstation): only the units matter here
  const config = parseAgentConfig(file, readConfigFile(file), { placeholders: true });
  const bad = config.services.flatMap((s, i) => (s.unit !== undefined && !UNIT_NAME_RE.test(s.unit) ? [{ path: `services[${i}].unit`, message: `comes from an unset environment variable (${s.unit}): set it, the privilege file needs the real unit name` }] : []));
  if (bad.length) throw new ConfigError(file, bad);
  const units = configuredUnits(config.services);
  if (units.length === 0) throw new ConfigError(file, [{ path: 'services', message: 'no service names a unit: there is nothing to allow' }]);
  process.stdout.write(what === 'polkit' ? polkitRule(units) : sudoersFile(units, config.restart.systemctl));
  return 0;
}
