import { parseCommandArgs, usageError } from './args.js';
import { call, coordinatorClient, failure, report, type CoordinatorClient, type Success } from './coordinator-client.js';
import { countsLine, targetName, type Job } from './job-view.js';
import { DEFAULT_URL } from './status.js';

const HELP = `usage: llm-health restarts list [--json]
       llm-health restarts show ID [--json]
       llm-health restarts abort ID

Restart jobs on the coordinator (started with \`llm-health restart\`).
  list    the latest jobs, newest first
  show    one job, target by target
  abort   targets not started yet are skipped; those restarting finish (admin token)
  --url URL, --token T   as for \`llm-health restart\` (default ${DEFAULT_URL}, $LLM_HEALTH_TOKEN)
Exit 0 on success, 1 when the coordinator could not do it, 2 on a usage error.`;

export interface RestartsIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

export async function restartsMain(argv: string[], io: RestartsIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'restarts',
    argv,
    { json: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  const [sub, ...args] = positionals;
  if (values.help || sub === 'help') {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const client = coordinatorClient('restarts', values.url ?? DEFAULT_URL, values.token, io.env, DEFAULT_URL);
  const json = values.json === true;
  switch (sub) {
    case 'list':
    case 'ls':
      if (args.length) throw usageError(`restarts list: unexpected argument ${JSON.stringify(args[0])}`);
      return list(client, json, io);
    case 'show':
      return show(client, oneId('show', args), json, io);
    case 'abort':
      return abort(client, oneId('abort', args), json, io);
    case undefined:
      throw usageError(`restarts: expected a subcommand: list, show or abort\n\n${HELP}`);
    default:
      throw usageError(`restarts: unknown subcommand ${JSON.stringify(sub)} (expected list, show or abort)`);
  }
}

function oneId(sub: string, args: string[]): string {
  if (args.length !== 1) throw usageError(`restarts ${sub}: give one job id (see \`llm-health restarts list\`)`);
  return args[0]!;
}

async function list(client: CoordinatorClient, json: boolean, io: RestartsIo): Promise<number> {
  const a = await call(client, 'GET', '/api/v1/restarts');
  const failed = failure('restarts list', a, 'viewer');
  if (failed) return report(io, failed);
  const jobs = ((a as Success).body as { jobs?: (Job & { createdAt?: string })[] })?.jobs;
  if (!Array.isArray(jobs)) return report(io, { code: 1, message: 'restarts list: the coordinator sent something that is not a job list' });
  if (json) io.stdout.write(`${(a as Success).text.trimEnd()}\n`);
  else io.stdout.write(jobs.length === 0 ? 'no restart jobs\n' : table(['ID', 'STATE', 'CREATED', 'BY', 'TARGETS', 'REASON'], jobs.map((j) => [j.id, j.state, j.createdAt ?? '', j.createdBy ?? '', countsLine(j), j.reason ?? ''])));
  return 0;
}

async function show(client: CoordinatorClient, id: string, json: boolean, io: RestartsIo): Promise<number> {
  const a = await call(client, 'GET', `/api/v1/restarts/${encodeURIComponent(id)}`);
  const failed = failure(`restarts show ${id}`, a, 'viewer');
  if (failed) return report(io, failed);
  const job = (a as Success).body as Job;
  if (json) io.stdout.write(`${(a as Success).text.trimEnd()}\n`);
  else {
    io.stdout.write(`job ${job.id} ${job.state}${job.reason ? ` (${job.reason})` : ''}: ${countsLine(job)}\n`);
    io.stdout.write(table(['TARGET', 'UNIT', 'STATE', 'REASON'], job.targets.map((t) => [targetName(t), t.unit, t.state, (t.reason ?? '').replace(/\s+/g, ' ')])));
  }
  return 0;
}

async function abort(client: CoordinatorClient, id: string, json: boolean, io: RestartsIo): Promise<number> {
  const a = await call(client, 'DELETE', `/api/v1/restarts/${encodeURIComponent(id)}`);
  const failed = failure(`restarts abort ${id}`, a, 'admin');
  if (failed) return report(io, failed);
  const job = (a as Success).body as Job;
  io.stdout.write(json ? `${(a as Success).text.trimEnd()}\n` : `job ${job.id}: abort requested (${countsLine(job)})\n`);
  return 0;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
