import { parseCommandArgs, usageError } from './args.js';
import { parseAgentConfig } from '../shared/config/agent-config.js';
import { parseYaml, readConfigFile } from '../shared/config/load.js';

const HELP = `usage: llm-health config validate -c FILE [--kind agent|coordinator] [--no-env]

Validates an agent or coordinator config (the kind is detected from its keys:
"services" = agent, "listen"/"auth" = coordinator) and prints every problem found.
--no-env: a \${VAR} that is not set in the environment counts as a fitting value of
its key (check a file where its secrets are not). Exit 0 valid, 2 invalid.`;

export async function configMain(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (sub !== 'validate') throw usageError(`config: expected "validate", got ${JSON.stringify(sub ?? '')}\n${HELP}`);
  const { values } = parseCommandArgs('config validate', rest, {
    config: { type: 'string', short: 'c' },
    kind: { type: 'string' },
    'no-env': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.config) throw usageError(`config validate: -c FILE is required\n${HELP}`);
  const file = values.config;
  const text = readConfigFile(file);
  let kind = values.kind;
  if (kind && kind !== 'agent' && kind !== 'coordinator') throw usageError(`config validate: --kind must be agent or coordinator, got ${JSON.stringify(kind)}`);
  if (!kind) {
    const doc = parseYaml(file, text);
    const keys = doc && typeof doc === 'object' ? Object.keys(doc) : [];
    kind = keys.includes('services') || keys.includes('agent') || keys.includes('restart') ? 'agent' : keys.includes('listen') || keys.includes('auth') || keys.includes('notify') ? 'coordinator' : 'agent';
  }
  const options = { placeholders: values['no-env'] === true };
  if (kind === 'agent') {
    const cfg = parseAgentConfig(file, text, options);
    process.stdout.write(`${file}: valid agent config (agent ${cfg.agent.id}, ${cfg.services.length} service${cfg.services.length === 1 ? '' : 's'}: ${cfg.services.map((s) => s.name).join(', ')})\n`);
  } else {
    const { parseCoordinatorConfig } = await import('../shared/config/coordinator-config.js');
    parseCoordinatorConfig(file, text, options);
    process.stdout.write(`${file}: valid coordinator config\n`);
  }
  return 0;
}
