/**
 * A small fleet for restart-job tests (docs/http-api.md, restart jobs): emulated servers run
 * as units of the service-manager stand-in, each behind a wrapper that logs when its process
 * starts, is told to stop and answers /health again, and real agent processes own them. What
 * was down or loading at any moment is read from those logs, not from the coordinator's view.
 *
 * The wrapper also takes faults from flag files the test writes beside the log: `broken`
 * (the process exits at once whenever it starts: a server that never comes back after a
 * restart), `crash` (the running server dies now, exit 1) and `stop-delay` (milliseconds the
 * unit's main process lingers after SIGTERM: a slow stop keeps a restart command in flight).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile } from '../../demo/service-manager/paths.js';
import { createHarness, CLI, freePort, waitFor, type AgentProcess, type Harness } from './agent-harness.js';

const WRAPPER = `import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
const [log, unit, port, ...argv] = process.argv.slice(2);
const note = (ev, extra = {}) => appendFileSync(log, JSON.stringify({ unit, ev, t: Date.now(), ...extra }) + '\\n');
const flag = (name) => log + '.' + unit + '.' + name;
note('start');
if (existsSync(flag('broken'))) { note('exit'); process.exit(1); }
let crashing = false;
let stopping = false;
const child = spawn(process.execPath, argv, { stdio: 'inherit' });
process.on('SIGTERM', () => { note('stop'); stopping = true; child.kill('SIGTERM'); });
// the service manager signals the whole group, so the server itself stops at once: the slow
// stop is this main process lingering, which is what systemctl restart waits for
child.on('exit', (code) => {
  let delay = 0;
  if (stopping) try { delay = Number(readFileSync(flag('stop-delay'), 'utf8')) || 0; } catch {}
  setTimeout(() => process.exit(crashing ? 1 : code ?? 0), delay);
});
setInterval(() => {
  if (!crashing && existsSync(flag('crash'))) { crashing = true; note('exit'); child.kill('SIGKILL'); }
}, 50);
// lastFail: when the last poll that did NOT get a 200 was sent. The server began answering
// after that and before 'ready' was noted (this poll only sees it up to 50 ms late).
let lastFail = Date.now();
const poll = setInterval(async () => {
  const sent = Date.now();
  try {
    const res = await fetch('http://127.0.0.1:' + port + '/health');
    await res.arrayBuffer();
    if (res.ok) { note('ready', { lastFail }); clearInterval(poll); return; }
  } catch {}
  lastFail = Math.max(lastFail, sent);
}, 50);
`;

export interface LifeEvent {
  unit: string;
  /** start: the process started; stop: it got SIGTERM; ready: /health answered 200; exit: it died on a fault flag */
  ev: 'start' | 'stop' | 'ready' | 'exit';
  /** ready only: when the last poll that got no 200 was sent (the server was not answering yet) */
  lastFail?: number;
  t: number;
}

export type Fault = 'broken' | 'crash' | 'stop-delay';

export const unitOf = (host: string, service: string) => `${host}-${service}.service`;

export interface FleetOptions {
  hosts: readonly string[];
  services: readonly string[];
  /** how long each emulator loads after a start (`emulate --load-time`) */
  loadTime?: string;
}

export interface AgentOptions {
  /** ws://…/agent */
  url: string;
  token: string;
  /** the services in the agent's config; default all of the fleet's */
  services?: readonly string[];
  /** more top-level YAML, e.g. a `restart:` block */
  extra?: string;
}

export class RestartFleet {
  readonly lifeLog: string;
  readonly ports = new Map<string, number>();
  readonly agents = new Map<string, AgentProcess>();

  private constructor(
    readonly h: Harness,
    readonly opts: FleetOptions,
  ) {
    this.lifeLog = join(h.dir, 'life.log');
  }

  /** Writes and starts every host's units (they answer /health once loaded; not waited for here). */
  static async create(opts: FleetOptions): Promise<RestartFleet> {
    const fleet = new RestartFleet(createHarness(), opts);
    writeFileSync(fleet.lifeLog, '');
    const wrapper = join(fleet.h.dir, 'wrap.mjs');
    writeFileSync(wrapper, WRAPPER);
    const starts: Promise<void>[] = [];
    for (const host of opts.hosts) {
      for (const s of opts.services) {
        const unit = unitOf(host, s);
        const port = await freePort();
        fleet.ports.set(unit, port);
        fleet.h.sandbox.writeUnit(unit, { execStart: [process.execPath, wrapper, fleet.lifeLog, unit, String(port), CLI, 'emulate', '--kind', 'llamacpp', '--port', String(port), '--load-time', opts.loadTime ?? '2s'], timeoutStopSec: '10s' });
        starts.push(fleet.h.start(unit));
      }
    }
    await Promise.all(starts);
    return fleet;
  }

  agentYaml(host: string, a: AgentOptions): string {
    const lines = (a.services ?? this.opts.services).map((s) => `  - { name: ${s}, kind: llamacpp, url: 'http://127.0.0.1:${this.ports.get(unitOf(host, s))}', unit: ${unitOf(host, s)} }`);
    return `agent: { id: ${host} }
coordinator: { url: '${a.url}', token: '${a.token}', spoolDir: '${join(this.h.dir, `spool-${host}`)}', heartbeat: 1s, reconnectMax: 1s }
defaults: { interval: 1s, timeout: 1s, retries: 2, retryDelay: 300ms, startupGrace: 20s }
gpu: { enabled: false }
services:
${lines.join('\n')}
${a.extra ?? ''}`;
  }

  /** Starts (or, when it runs, stops and starts again with this config) the host's agent; its spool and command ledger are kept. */
  async spawnAgent(host: string, a: AgentOptions): Promise<AgentProcess> {
    await this.agents.get(host)?.stop();
    const agent = this.h.spawnAgent(this.agentYaml(host, a));
    this.agents.set(host, agent);
    return agent;
  }

  setFault(host: string, service: string, fault: Fault, value: string | null = ''): void {
    const file = `${this.lifeLog}.${unitOf(host, service)}.${fault}`;
    if (value === null) rmSync(file, { force: true });
    else writeFileSync(file, value);
  }

  hasFault(host: string, service: string, fault: Fault): boolean {
    return existsSync(`${this.lifeLog}.${unitOf(host, service)}.${fault}`);
  }

  events(from = 0): LifeEvent[] {
    return readFileSync(this.lifeLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LifeEvent)
      .filter((e) => e.t >= from);
  }

  /** The last lines the unit's processes (and the service manager) wrote to its journal. */
  journalTail(host: string, service: string, lines = 30): string {
    try {
      return readFileSync(logFile(this.h.dir, unitOf(host, service)), 'utf8').split('\n').slice(-lines).join('\n');
    } catch (err) {
      return `(no journal: ${(err as Error).message})`;
    }
  }

  /** How many times the unit's process started since `from`. */
  starts(host: string, service: string, from: number): number {
    const unit = unitOf(host, service);
    return this.events(from).filter((e) => e.unit === unit && e.ev === 'start').length;
  }

  /** The most units down or loading at the same moment after `from`: from a stop to the next ready. */
  maxOutAtOnce(from: number): number {
    const marks = this.events(from)
      .filter((e) => e.ev === 'stop' || e.ev === 'ready')
      .sort((a, b) => a.t - b.t || (a.ev === 'ready' ? -1 : 1));
    let out = 0;
    let max = 0;
    for (const e of marks) {
      out += e.ev === 'stop' ? 1 : -1;
      max = Math.max(max, out);
    }
    return max;
  }

  cleanup(): Promise<void> {
    return this.h.cleanup();
  }
}

/** A coordinator's HTTP API with one token (none: no Authorization header). */
export class JobsApi {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, signal: AbortSignal.timeout(5000), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  }

  /** POST /api/v1/restarts, asserting the 202; returns the job id. */
  async createJob(request: Record<string, unknown>): Promise<string> {
    const res = await this.call('POST', '/api/v1/restarts', { reason: 'test', ...request });
    if (res.status !== 202) throw new Error(`POST /api/v1/restarts: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }

  async job(id: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await this.call('GET', `/api/v1/restarts/${id}`);
    if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Polls the job until `pred` holds (bounded); a coordinator that is not answering is retried. */
  async waitJob(id: string, pred: (job: any) => boolean, timeoutMs: number, what: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    let last: unknown;
    try {
      return await waitFor(async () => {
        try {
          last = await this.job(id);
        } catch {
          return null;
        }
        return pred(last) ? last : null;
      }, timeoutMs, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; job: ${JSON.stringify(last)}`);
    }
  }

  waitJobEnd(id: string, timeoutMs: number): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.waitJob(id, (j) => !['pending', 'running'].includes(j.state), timeoutMs, `job ${id} to end`);
  }

  /** The agent's story of one service since `from` (type, time, reason), for failure messages. */
  async story(host: string, service: string, from: number): Promise<string> {
    const res = await this.call('GET', `/api/v1/events?host=${host}&service=${service}&since=${from}&limit=100`).catch((err: Error) => ({ status: 0, body: err.message }));
    if (res.status !== 200) return `events: ${res.status} ${JSON.stringify(res.body)}`;
    return (res.body.events as { type: string; at: string; reason?: string; data?: { attempt?: number; trigger?: string } }[])
      .map((e) => `${e.at} ${e.type}${e.data?.trigger ? ` (${e.data.trigger})` : e.type === 'restart_started' ? ` (attempt ${e.data?.attempt})` : ''}: ${e.reason ?? ''}`)
      .join('\n');
  }

  /** Waits until each host is connected with exactly the services given for it, all healthy. */
  async waitFleetHealthy(hosts: Record<string, readonly string[]>, timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const res = await this.call('GET', '/api/v1/fleet').catch(() => null);
      if (res?.status !== 200) return false;
      const byId = new Map((res.body.hosts as { id: string; connected?: boolean; services: { name: string; state: string }[] }[]).map((x) => [x.id, x]));
      return Object.entries(hosts).every(([id, services]) => {
        const host = byId.get(id);
        return host !== undefined && (host as { connected?: boolean }).connected === true && host.services.length === services.length && services.every((s) => host.services.some((x) => x.name === s && x.state === 'healthy'));
      });
    }, timeoutMs, `every service of ${Object.keys(hosts).join(', ')} healthy`);
  }
}
