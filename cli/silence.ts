import { userInfo } from 'node:os';
import { parseSince } from '../coordinator/http/api.js';
import { formatMatcher } from '../coordinator/alerts/matchers.js';
import type { Matcher } from '../coordinator/alerts/types.js';
import { formatDuration, parseDuration } from '../shared/duration.js';
import { parseCommandArgs, usageError } from './args.js';
import { DEFAULT_URL } from './status.js';
import { call, coordinatorClient, failure, report, type CoordinatorClient, type Success } from './coordinator-client.js';

const HELP = `usage: llm-health silence add --matcher M [--matcher M ...] --duration D [--start TIME] --comment TEXT [--author NAME]
       llm-health silence list [--all] [--json]
       llm-health silence expire ID [ID ...]

Silences mute the alerts whose labels match all of a silence's matchers, from its start
until it ends; one that starts later is a maintenance window.
  --matcher M     name=value, name!=value, name=~regex or name!~regex (RE2 syntax, anchored);
                  repeat for several, e.g. --matcher service=qwen-vl --matcher 'host=~gpu-.*'
  --duration D    how long, like 30m, 2h, 1d (or --end TIME)
  --start TIME    when it starts: ISO 8601 (2026-01-01T22:00:00Z) or +DURATION from now (default: now)
  --end TIME      when it ends, instead of --duration
  --comment TEXT  why (required)
  --author NAME   who (default: $USER)
  --all           list: include expired silences
  --json          print the coordinator's JSON answer
  --url URL       coordinator base URL (default ${DEFAULT_URL}); https:// verifies
                  against the system CAs plus $NODE_EXTRA_CA_CERTS
  --token T       bearer token (default: $LLM_HEALTH_TOKEN); add and expire need an admin token
\`add\` prints the new silence's id. Exit 0 on success, 1 when the coordinator could not do
it (unreachable, token refused, unknown id), 2 on a usage error.`;

const MAX_COMMENT_WIDTH = 40;

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  now: () => number;
}

interface SilenceJson {
  id: string;
  state: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export async function silenceMain(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now }): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'silence',
    argv,
    {
      matcher: { type: 'string', short: 'm', multiple: true },
      duration: { type: 'string', short: 'd' },
      start: { type: 'string' },
      end: { type: 'string' },
      comment: { type: 'string', short: 'c' },
      author: { type: 'string' },
      all: { type: 'boolean', short: 'a' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const [sub, ...args] = positionals;
  if (values.help || sub === 'help') {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const client = coordinatorClient('silence', values.url ?? DEFAULT_URL, values.token, io.env, DEFAULT_URL);

  switch (sub) {
    case 'add': {
      if (args.length) throw usageError(`silence add: unexpected argument ${JSON.stringify(args[0])}`);
      rejectFlags(values, ['all'], 'add');
      return add(values, client, io);
    }
    case 'list':
    case 'ls': {
      if (args.length) throw usageError(`silence list: unexpected argument ${JSON.stringify(args[0])}`);
      rejectFlags(values, ['matcher', 'duration', 'start', 'end', 'comment', 'author'], 'list');
      return list(values.all ?? false, values.json ?? false, client, io);
    }
    case 'expire':
    case 'rm': {
      rejectFlags(values, ['matcher', 'duration', 'start', 'end', 'comment', 'author', 'all'], 'expire');
      if (args.length === 0) throw usageError('silence expire: give the id of the silence to expire (see `llm-health silence list`)');
      return expire(args, values.json ?? false, client, io);
    }
    case undefined:
      throw usageError(`silence: expected a subcommand: add, list or expire\n\n${HELP}`);
    default:
      throw usageError(`silence: unknown subcommand ${JSON.stringify(sub)} (expected add, list or expire)`);
  }
}

interface AddFlags {
  matcher?: string[];
  duration?: string;
  start?: string;
  end?: string;
  comment?: string;
  author?: string;
  json?: boolean;
}

async function add(values: AddFlags, client: CoordinatorClient, io: CliIo): Promise<number> {
  if (!values.matcher?.length) throw usageError('silence add: at least one --matcher is required, e.g. --matcher service=qwen-vl');
  if (values.duration === undefined && values.end === undefined) throw usageError('silence add: --duration (like 2h) or --end is required');
  if (values.duration !== undefined && values.end !== undefined) throw usageError('silence add: give --duration or --end, not both');
  if (!values.comment?.trim()) throw usageError('silence add: --comment is required (say why, for whoever finds the silence later)');
  const now = io.now();
  const body: Record<string, unknown> = {
    matchers: values.matcher,
    comment: values.comment,
    createdBy: values.author?.trim() || io.env.USER || io.env.LOGNAME || currentUser() || 'unknown',
  };
  if (values.start !== undefined) body.startsAt = new Date(parseTime(values.start, now, '--start')).toISOString();
  if (values.duration !== undefined) {
    const ms = parseDuration(values.duration);
    if (ms === undefined || ms <= 0) throw usageError(`silence add: --duration expects a duration like 30m, 2h or 1d, got ${JSON.stringify(values.duration)}`);
    body.duration = ms;
  }
  if (values.end !== undefined) body.endsAt = new Date(parseTime(values.end, now, '--end')).toISOString();

  const a = await call(client, 'POST', '/api/v1/silences', body);
  const failed = failure('silence add', a, 'admin');
  if (failed) return report(io, failed);
  const ok = a as Success;
  const id = (ok.body as { id?: unknown })?.id;
  if (typeof id !== 'string') return report(io, { code: 1, message: 'silence add: the coordinator answered without a silence id' });
  io.stdout.write(values.json ? `${ok.text.trimEnd()}\n` : `${id}\n`);
  return 0;
}

async function list(all: boolean, json: boolean, client: CoordinatorClient, io: CliIo): Promise<number> {
  const a = await call(client, 'GET', `/api/v1/silences${all ? '?all=1' : ''}`);
  const failed = failure('silence list', a, 'viewer');
  if (failed) return report(io, failed);
  const ok = a as Success;
  const silences = (ok.body as { silences?: unknown })?.silences;
  if (!Array.isArray(silences)) return report(io, { code: 1, message: 'silence list: the coordinator sent something that is not a silence list' });
  io.stdout.write(json ? `${ok.text.trimEnd()}\n` : formatSilenceTable(silences as SilenceJson[], io.now()));
  return 0;
}

async function expire(ids: string[], json: boolean, client: CoordinatorClient, io: CliIo): Promise<number> {
  let code = 0;
  for (const id of ids) {
    const a = await call(client, 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
    const failed = failure(`silence expire ${id}`, a, 'admin');
    if (failed) {
      report(io, failed);
      code = Math.max(code, failed.code);
      // the coordinator is not there or refuses the token: the other ids would fail alike
      if (!a.ok || a.status === 401 || a.status === 403) return code;
      continue;
    }
    io.stdout.write(json ? `${(a as Success).text.trimEnd()}\n` : `expired ${id}\n`);
  }
  return code;
}

/** The table `silence list` prints, one row per silence. */
export function formatSilenceTable(silences: readonly SilenceJson[], now: number): string {
  if (silences.length === 0) return 'no silences\n';
  const header = ['ID', 'STATE', 'MATCHERS', 'STARTS', 'ENDS', 'CREATED BY', 'COMMENT'];
  const rows = silences.map((s) => [
    s.id,
    s.state,
    s.matchers.map(formatMatcher).join(' '),
    when(s.startsAt, now),
    when(s.endsAt, now),
    s.createdBy,
    clip(s.comment, MAX_COMMENT_WIDTH),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function when(isoTime: string, now: number): string {
  const ms = Date.parse(isoTime);
  if (Number.isNaN(ms)) return isoTime;
  const stamp = isoTime.replace(/\.\d{3}Z$/, 'Z');
  const d = ms - now;
  if (Math.abs(d) < 1000) return `${stamp} (now)`;
  return d > 0 ? `${stamp} (in ${formatDuration(d)})` : `${stamp} (${formatDuration(-d)} ago)`;
}

function clip(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > width ? `${oneLine.slice(0, width - 1)}…` : oneLine;
}

/** ISO 8601, epoch milliseconds, `now`, or `+DURATION` from now. */
function parseTime(text: string, now: number, flag: string): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (t.startsWith('+')) {
    const ms = parseDuration(t.slice(1));
    if (ms !== undefined) return now + ms;
  } else {
    const ms = parseSince(t);
    if (ms !== undefined) return ms;
  }
  throw usageError(`silence add: ${flag} expects an ISO 8601 time like 2026-01-01T22:00:00Z or +DURATION like +30m, got ${JSON.stringify(text)}`);
}

function rejectFlags(values: Record<string, unknown>, flags: string[], sub: string): void {
  for (const f of flags) if (values[f] !== undefined) throw usageError(`silence ${sub}: --${f} does not apply here`);
}

function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
