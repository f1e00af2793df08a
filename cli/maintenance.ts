import { parseCommandArgs, usageError } from './args.js';
import { call, coordinatorClient, failure, report, type Success } from './coordinator-client.js';
import { DEFAULT_URL } from './status.js';

const HELP = `usage: llm-health maintenance on --host ID [--for 2h | --until TIME] [--comment TEXT]
       llm-health maintenance off --host ID

Puts a host in maintenance (a drain): it keeps being probed and shown, its agent starts no
automatic restart, its alerts page no one, and restart jobs leave it out. The window ends by
itself at its end (default --for 1h), or with \`off\`.
  --host ID        the agent id
  --for D          how long (2h, 30m); or
  --until TIME     when it ends (ISO 8601, e.g. 2026-03-01T18:00:00Z)
  --comment TEXT   why, shown in the fleet view
  --json           print the coordinator's answer as JSON
  --url URL, --token T   coordinator and admin token (default ${DEFAULT_URL}, $LLM_HEALTH_TOKEN)
Exit 0 on success, 1 when the coordinator refused or could not be reached, 2 on a usage error.`;

export interface MaintenanceIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

export async function maintenanceMain(argv: string[], io: MaintenanceIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'maintenance',
    argv,
    {
      host: { type: 'string' },
      for: { type: 'string' },
      until: { type: 'string' },
      comment: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const [sub, ...rest] = positionals;
  if (values.help || sub === 'help') {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (sub !== 'on' && sub !== 'off') throw usageError(`maintenance: expected on or off\n\n${HELP}`);
  if (rest.length) throw usageError(`maintenance ${sub}: unexpected argument ${JSON.stringify(rest[0])}`);
  if (!values.host) throw usageError(`maintenance ${sub}: --host ID is required`);
  if (values.for !== undefined && values.until !== undefined) throw usageError('maintenance on: give --for or --until, not both');
  if (sub === 'off' && (values.for ?? values.until ?? values.comment) !== undefined) throw usageError('maintenance off: takes only --host');
  const client = coordinatorClient('maintenance', values.url ?? DEFAULT_URL, values.token, io.env, DEFAULT_URL);
  const path = `/api/v1/hosts/${encodeURIComponent(values.host)}/maintenance`;
  const body = values.until !== undefined ? { until: values.until } : { for: values.for ?? '1h' };
  const a = sub === 'on' ? await call(client, 'POST', path, { ...body, ...(values.comment !== undefined ? { comment: values.comment } : {}) }) : await call(client, 'DELETE', path);
  const failed = failure(`maintenance ${sub} ${values.host}`, a, 'admin');
  if (failed) return report(io, failed);
  const answer = a as Success;
  if (values.json) io.stdout.write(`${answer.text.trimEnd()}\n`);
  else if (sub === 'off') io.stdout.write(`${values.host}: maintenance ended; automatic restarts and alerts resume\n`);
  else {
    const m = (answer.body as { maintenance?: { until?: string } }).maintenance;
    io.stdout.write(`${values.host}: in maintenance until ${m?.until ?? '?'}; automatic restarts paused, alerts muted\n`);
  }
  return 0;
}
