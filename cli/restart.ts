import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../shared/duration.js';
import { parseCommandArgs, usageError } from './args.js';
import { call, coordinatorClient, failure, report, type CoordinatorClient, type Success } from './coordinator-client.js';
import { formatTargets, JOB_DONE, jobExitCode, progressBar, summaryLine, targetChanges, targetStates, type Job, type JobTarget } from './job-view.js';
import { DEFAULT_URL } from './status.js';

const HELP = `usage: llm-health restart [--host GLOB]... [--service NAME]... [--label k=v]... [options]

Restarts services across the fleet as a job on the coordinator: at most --max-parallel at a
time, each one reported healthy by its agent before the next starts. Lists the targets, asks
for confirmation (on a terminal; elsewhere --yes is required), then follows the job.
  --host GLOB           agent ids or globs (gpu-*), repeatable
  --service NAME        service names, repeatable
  --label k=v           agent labels that must match, repeatable (at least one selector)
  --max-parallel N      targets restarting or loading at once (default 1)
  --health-timeout D    per target, from the restart to a healthy report (default 10m)
  --max-failures N      failures before the rest are skipped (default 1)
  --reason TEXT         why, shown with the job
  --dry-run             list the targets and exit
  --yes                 do not ask
  --detach              start the job, print its id and exit 0
  --json                print the job as JSON (the final state, or the created job with --detach)
  --url URL             coordinator base URL (default ${DEFAULT_URL})
  --token T             admin token (default: $LLM_HEALTH_TOKEN)
Exit 0 when every target is healthy again, 1 when one failed or was skipped (or the
coordinator refused), 2 on a usage error. Ctrl-C stops following; the job goes on
(\`llm-health restarts show ID\`, \`llm-health restarts abort ID\`).`;

/** Between two looks at a running job. */
const FOLLOW_EVERY_MS = 1000;

export interface RestartIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  now: () => number;
}

const defaultIo = (): RestartIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, now: Date.now });

export async function restartMain(argv: string[], io: RestartIo = defaultIo()): Promise<number> {
  const { values, positionals } = parseCommandArgs('restart', argv, {
    host: { type: 'string', multiple: true },
    service: { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    'max-parallel': { type: 'string' },
    'health-timeout': { type: 'string' },
    'max-failures': { type: 'string' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
    detach: { type: 'boolean' },
    json: { type: 'boolean' },
    url: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length) throw usageError(`restart: unexpected argument ${JSON.stringify(positionals[0])} (select with --host, --service, --label)`);
  const client = coordinatorClient('restart', values.url ?? DEFAULT_URL, values.token, io.env, DEFAULT_URL);
  const body = requestBody(values);

  const preview = await call(client, 'POST', '/api/v1/restarts', { ...body, dryRun: true });
  const refused = failure('restart', preview, 'admin');
  if (refused) return report(io, refused);
  const targets = ((preview as Success).body as { targets?: JobTarget[] })?.targets ?? [];
  if (values['dry-run']) {
    io.stdout.write(values.json ? `${(preview as Success).text.trimEnd()}\n` : `${targets.length} target(s):\n${formatTargets(targets)}`);
    return 0;
  }
  if (!values.yes && !(await confirmed(io, targets))) return 1;

  const created = await call(client, 'POST', '/api/v1/restarts', body);
  const notCreated = failure('restart', created, 'admin');
  if (notCreated) return report(io, notCreated);
  const id = ((created as Success).body as { id?: unknown })?.id;
  if (typeof id !== 'string') return report(io, { code: 1, message: 'restart: the coordinator answered without a job id' });
  if (values.detach) {
    io.stdout.write(values.json ? `${(created as Success).text.trimEnd()}\n` : `${id}\n`);
    return 0;
  }
  return follow(client, id, io, values.json === true);
}

type Values = Record<string, string | string[] | boolean | undefined>;

function requestBody(values: Values): Record<string, unknown> {
  const hosts = values.host as string[] | undefined;
  const services = values.service as string[] | undefined;
  const labels = values.label as string[] | undefined;
  if (!hosts?.length && !services?.length && !labels?.length) throw usageError('restart: select targets with --host, --service or --label (--host "*" for the whole fleet)');
  const selector: Record<string, unknown> = {};
  if (hosts?.length) selector.hosts = hosts;
  if (services?.length) selector.services = services;
  if (labels?.length) selector.labels = Object.fromEntries(labels.map(parseLabel));
  const body: Record<string, unknown> = { selector };
  const int = (flag: string, min: number) => {
    const v = values[flag] as string | undefined;
    if (v === undefined) return undefined;
    if (!/^\d{1,4}$/.test(v) || Number(v) < min) throw usageError(`restart: --${flag} expects an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const maxParallel = int('max-parallel', 1);
  const maxFailures = int('max-failures', 0);
  if (maxParallel !== undefined) body.maxParallel = maxParallel;
  if (maxFailures !== undefined) body.maxFailures = maxFailures;
  const timeout = values['health-timeout'] as string | undefined;
  if (timeout !== undefined) {
    const ms = parseDuration(timeout);
    if (ms === undefined || ms <= 0) throw usageError(`restart: --health-timeout expects a duration like 10m, got ${JSON.stringify(timeout)}`);
    body.healthTimeout = timeout;
  }
  if (values.reason !== undefined) body.reason = values.reason;
  return body;
}

function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`restart: --label expects name=value, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Shows the targets and asks; off a terminal nobody can answer, so --yes is required. */
async function confirmed(io: RestartIo, targets: readonly JobTarget[]): Promise<boolean> {
  if (!io.stdin.isTTY) throw usageError('restart: stdin is not a terminal, so nobody can confirm: pass --yes (or --dry-run to list the targets)');
  io.stdout.write(`${targets.length} target(s):\n${formatTargets(targets)}`);
  const rl = createInterface({ input: io.stdin, output: io.stdout as NodeJS.WritableStream });
  try {
    const answer = await rl.question(`Restart ${targets.length} service(s)? [y/N] `);
    if (/^y(es)?$/i.test(answer.trim())) return true;
    io.stdout.write('not restarted\n');
    return false;
  } finally {
    rl.close();
  }
}

/** Follows the job until it ends: target lines as they change, a progress bar on a terminal. */
async function follow(client: CoordinatorClient, id: string, io: RestartIo, json: boolean): Promise<number> {
  const tty = io.stdout.isTTY === true && !json;
  let seen = new Map<string, string>();
  let barShown = false;
  if (!json) io.stdout.write(`job ${id} started\n`);
  for (;;) {
    const a = await call(client, 'GET', `/api/v1/restarts/${encodeURIComponent(id)}`);
    const failed = failure(`restart: following job ${id}`, a, 'viewer');
    if (failed) return report(io, failed);
    const job = (a as Success).body as Job;
    if (!json) {
      const stamp = tty ? new Date(io.now()).toTimeString().slice(0, 8) : new Date(io.now()).toISOString();
      const lines = targetChanges(seen, job, stamp);
      if (tty && barShown && lines.length) io.stdout.write('\r\x1b[K');
      for (const l of lines) io.stdout.write(`${l}\n`);
      if (tty) {
        io.stdout.write(`\r\x1b[K${progressBar(job)}`);
        barShown = true;
      }
    }
    seen = targetStates(job);
    if (JOB_DONE.has(job.state)) {
      if (json) io.stdout.write(`${(a as Success).text.trimEnd()}\n`);
      else io.stdout.write(`${tty ? '\n' : ''}${summaryLine(job)}\n`);
      return jobExitCode(job);
    }
    await sleep(FOLLOW_EVERY_MS);
  }
}
