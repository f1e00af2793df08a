import { formatDuration } from '../shared/duration.js';
import { parseCommandArgs, usageError } from './args.js';
import { unreachableReason } from './unreachable.js';
import { watchFeed } from './status-watch.js';
import { presentClientCertificate } from './client-certificate.js';

const HELP = `usage: llm-health status [--url URL] [--token T] [--json] [--watch]

Prints the fleet table from a coordinator's GET /api/v1/fleet.
  --url URL    coordinator base URL (default http://127.0.0.1:7700); https:// verifies
               against the system CAs plus $NODE_EXTRA_CA_CERTS
  --token T    bearer token (default: $LLM_HEALTH_TOKEN)
  --json       print the /api/v1/fleet body as received
  --watch      follow the coordinator's live feed and redraw whenever the fleet changes;
               when stdout is not a terminal, frames are appended under a timestamped
               rule instead (Ctrl-C stops)
A coordinator with tls.clientCerts gets the client certificate named by
$LLM_HEALTH_CLIENT_CERT and $LLM_HEALTH_CLIENT_KEY.
Exit 0 when the fleet could be read (whatever its health), 1 when it could not.`;

export const DEFAULT_URL = 'http://127.0.0.1:7700';
const REQUEST_TIMEOUT_MS = 5000;
const MAX_REASON_WIDTH = 48;

/** The subset of the fleet body the table reads; everything else passes through untouched. */
interface FleetBody {
  hosts: {
    id: string;
    connected: boolean;
    lastSeen: string | null;
    services: { name: string; kind: string; state: string; reason: string; lastProbe?: { latencyMs: number | null }; restarts?: { count: number } }[];
  }[];
}

type Fetched = { ok: true; text: string; body: FleetBody } | { ok: false; message: string };

export async function statusMain(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('status', argv, {
    url: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean' },
    watch: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const base = values.url ?? DEFAULT_URL;
  let endpoint: URL;
  try {
    endpoint = new URL('/api/v1/fleet', base);
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`status: --url expects an http:// or https:// URL like ${DEFAULT_URL}, got ${JSON.stringify(base)}`);
  }
  const token = values.token ?? process.env.LLM_HEALTH_TOKEN;
  const clientCertificate = presentClientCertificate('status', process.env);
  const render = (f: Extract<Fetched, { ok: true }>) => (values.json ? `${f.text.trimEnd()}\n` : formatFleetTable(f.body, Date.now()));

  if (!values.watch) {
    const f = await fetchFleet(endpoint, token);
    if (!f.ok) {
      process.stderr.write(`llm-health status: ${f.message}\n`);
      return 1;
    }
    process.stdout.write(render(f));
    return 0;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await watchFeed({
      base: endpoint,
      token,
      ...(clientCertificate ? { clientCertificate } : {}),
      render: (fleet) => (values.json ? `${JSON.stringify(fleet)}\n` : formatFleetTable(fleet, Date.now())),
      out: process.stdout,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

async function fetchFleet(endpoint: URL, token: string | undefined, signal?: AbortSignal): Promise<Fetched> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    const why = unreachableReason(err, timeout.aborted, REQUEST_TIMEOUT_MS);
    return { ok: false, message: `cannot reach the coordinator at ${endpoint.origin}: ${why}` };
  }
  const text = await res.text().catch(() => '');
  if (res.status === 401) return { ok: false, message: `the coordinator at ${endpoint.origin} wants a viewer token (--token or LLM_HEALTH_TOKEN)${token ? '; the one given was refused' : ''}` };
  if (!res.ok) return { ok: false, message: `the coordinator at ${endpoint.origin} answered ${res.status} ${res.statusText}` };
  try {
    const body = JSON.parse(text) as FleetBody;
    if (!body || !Array.isArray(body.hosts)) throw new Error('no hosts');
    return { ok: true, text, body };
  } catch {
    return { ok: false, message: `the coordinator at ${endpoint.origin} sent something that is not a fleet document` };
  }
}

/** The human table: one row per service, hosts without services get one row of their own. */
export function formatFleetTable(body: FleetBody, now: number): string {
  const header = ['HOST', 'SERVICE', 'KIND', 'STATE', 'REASON', 'LATENCY', 'RESTARTS', 'LAST SEEN'];
  const rows: string[][] = [];
  for (const h of body.hosts) {
    const host = h.connected ? h.id : `${h.id} (disconnected)`;
    const seen = h.lastSeen ? ago(now - Date.parse(h.lastSeen)) : 'never';
    if (h.services.length === 0) rows.push([host, '-', '-', '-', 'no services reported', '-', '-', seen]);
    for (const s of h.services) {
      const latency = s.lastProbe?.latencyMs;
      rows.push([host, s.name, s.kind, s.state, clip(s.reason, MAX_REASON_WIDTH), latency === null || latency === undefined ? '-' : `${Math.round(latency)}ms`, s.restarts ? String(s.restarts.count) : '-', seen]);
    }
  }
  if (rows.length === 0) return 'no agents have connected to this coordinator yet\n';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function ago(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  return ms < 1000 ? 'just now' : `${formatDuration(ms)} ago`;
}

function clip(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > width ? `${oneLine.slice(0, width - 1)}…` : oneLine;
}
