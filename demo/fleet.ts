/**
 * The demo's fleet (README.md): three hosts, each with the seed's servers emulated on its own
 * loopback ports as units of the service-manager stand-in, and a real agent process per host.
 *
 * Every process the demo starts can be told apart from anybody else's: emulator units carry
 * the demo's own port numbers on their command line (`emulate --kind K --port N`) and
 * `LLMH_DEMO=<temp dir>` in their environment; supervisors and agents carry the temp dir in
 * their argv.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { AGENT_WS_PATH } from '../shared/protocol/constants.js';
import { standInEnv } from './service-manager/install-bin.js';
import { currentState, startUnit, stopAllUnits } from './service-manager/manager.js';
import { stateDir } from './service-manager/paths.js';
import { isAlive, isSupervisorOf, signalGroup, signalProcess } from './service-manager/processes.js';
import { readState } from './service-manager/state.js';
import { writeUnit } from './service-manager/units.js';

/** dist/cli/main.js, next to this module's compiled form (dist/demo/fleet.js). */
export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export const HOST_IDS = ['gpu-a', 'gpu-b', 'gpu-c'] as const;
export type ServiceName = 'llama-vision' | 'qwen-vl' | 'ollama';
export const SERVICE_NAMES: readonly ServiceName[] = ['llama-vision', 'qwen-vl', 'ollama'];

/** Environment variable set on every emulator unit: the demo's temp dir. */
export const DEMO_MARKER_ENV = 'LLMH_DEMO';

/** llama.cpp and vLLM take a while to load a model: long enough to see `starting`. */
const LOAD_TIME = '3s';

export interface Endpoint {
  port: number;
  url: string;
  unit: string;
}

export interface DemoService {
  host: string;
  name: ServiceName;
  kind: 'llamacpp' | 'vllm' | 'ollama';
  model: string;
  primary: Endpoint;
  fallback?: Endpoint;
  /** a deep probe (a one-token generation) runs on this service */
  deepProbe: boolean;
}

export interface DemoHost {
  id: string;
  services: DemoService[];
  configFile: string;
  logFile: string;
}

export interface FleetLayout {
  dir: string;
  serviceDir: string;
  hosts: DemoHost[];
  /** every emulator unit, primaries and fallbacks */
  units: string[];
  ports: number[];
}

/** Picks ports, writes the emulator units and the agents' configs. Starts nothing. */
export async function layoutFleet(dir: string, coordinatorPort: number, tokenFile: string): Promise<FleetLayout> {
  const serviceDir = join(dir, 'services');
  mkdirSync(serviceDir, { recursive: true });
  const taken = new Set<number>([coordinatorPort]);
  const hosts: DemoHost[] = [];
  const units: string[] = [];
  const endpoint = async (host: string, suffix: string, kind: string, load: boolean): Promise<Endpoint> => {
    const port = await freePort(taken);
    const unit = `${host}-${suffix}.service`;
    writeUnit(serviceDir, unit, {
      execStart: [process.execPath, CLI, 'emulate', '--kind', kind, '--port', String(port), ...(load ? ['--load-time', LOAD_TIME] : [])],
      env: { [DEMO_MARKER_ENV]: dir },
      timeoutStopSec: '3s',
      description: `llm-health demo: emulated ${kind} server for ${host} on port ${port}`,
    });
    units.push(unit);
    return { port, url: `http://127.0.0.1:${port}`, unit };
  };

  for (const [i, id] of HOST_IDS.entries()) {
    const services: DemoService[] = [
      { host: id, name: 'llama-vision', kind: 'llamacpp', model: 'llama-3.2-11b-vision', primary: await endpoint(id, 'llama-vision', 'llamacpp', true), deepProbe: true },
      {
        host: id,
        name: 'qwen-vl',
        kind: 'vllm',
        model: 'Qwen/Qwen2.5-VL-7B-Instruct',
        primary: await endpoint(id, 'qwen-vl', 'vllm', true),
        fallback: await endpoint(id, 'qwen-vl-fallback', 'vllm', true),
        deepProbe: false,
      },
      { host: id, name: 'ollama', kind: 'ollama', model: 'llama3.2-vision', primary: await endpoint(id, 'ollama', 'ollama', false), deepProbe: false },
    ];
    const host: DemoHost = { id, services, configFile: join(dir, `${id}.yaml`), logFile: join(dir, `${id}.log`) };
    writeFileSync(host.configFile, agentYaml(host, i, coordinatorPort, tokenFile, join(dir, `spool-${id}`)));
    hosts.push(host);
  }
  return { dir, serviceDir, hosts, units, ports: [...taken].filter((p) => p !== coordinatorPort) };
}

/** The agent config (docs/configuration.md) with the demo's timing: fast enough to watch, slow enough to read. */
export function agentYaml(host: DemoHost, index: number, coordinatorPort: number, tokenFile: string, spoolDir: string): string {
  const config = {
    agent: { id: host.id, labels: { demo: 'true', rack: `r${index + 1}`, gpu: 'emulated' } },
    coordinator: { url: `ws://127.0.0.1:${coordinatorPort}${AGENT_WS_PATH}`, tokenFile, spoolDir, heartbeat: '2s', reconnectMax: '5s' },
    defaults: { interval: '2s', timeout: '2s', retries: 3, retryDelay: '500ms', startupGrace: '20s', recoverAfter: 2, stallAfter: '10s' },
    services: host.services.map((s) => ({
      name: s.name,
      kind: s.kind,
      url: s.primary.url,
      ...(s.fallback ? { fallbackUrls: [s.fallback.url] } : {}),
      unit: s.primary.unit,
      model: s.model,
      ...(s.deepProbe ? { deepProbe: { every: '15s', timeout: '5s', vision: true } } : {}),
    })),
    // generous flap protection: the chaos loop hits each service every few minutes
    restart: { maxRestarts: 5, window: '3m', backoff: '5s', timeout: '30s' },
    gpu: { enabled: false },
    log: { level: 'info' },
  };
  return `# llm-health demo agent for ${host.id} (written by \`llm-health demo\`)\n${stringify(config)}`;
}

/** Starts every emulator unit, in parallel, like `systemctl start`. */
export async function startEmulators(layout: FleetLayout): Promise<void> {
  const results = await Promise.all(layout.units.map(async (unit) => ({ unit, result: await startUnit(layout.serviceDir, unit) })));
  const failed = results.filter((r) => !r.result.ok);
  if (failed.length) throw new Error(`could not start ${failed.map((f) => f.unit).join(', ')} (see ${join(layout.serviceDir, 'logs')})`);
}

export interface AgentChild {
  host: DemoHost;
  child: ChildProcess;
  exited: Promise<number | null>;
  running(): boolean;
}

/** One real agent process per host: stand-in `systemctl` first on PATH, log to a file. */
export function spawnAgents(layout: FleetLayout, onExit: (a: AgentChild, code: number | null, signal: NodeJS.Signals | null) => void): AgentChild[] {
  const env = standInEnv(layout.serviceDir, { ...process.env, LLM_HEALTH_LOG_LEVEL: 'info' });
  return layout.hosts.map((host) => {
    const fd = openSync(host.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [CLI, 'agent', '-c', host.configFile], { env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    let done = false;
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        onExit(agent, code, signal);
        resolve(code);
      });
      child.once('error', () => {
        done = true;
        resolve(null);
      });
    });
    const agent: AgentChild = { host, child, exited, running: () => !done };
    return agent;
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every agent has exited. */
export async function stopAgents(agents: readonly AgentChild[], graceMs = 5000): Promise<void> {
  await Promise.all(
    agents.map(async (a) => {
      if (!a.running()) return;
      a.child.kill('SIGTERM');
      const timer = setTimeout(() => a.child.kill('SIGKILL'), graceMs);
      await a.exited;
      clearTimeout(timer);
    }),
  );
}

/** Stops every emulator unit the stand-in runs for the demo. */
export async function stopEmulators(layout: FleetLayout): Promise<void> {
  await stopAllUnits(layout.serviceDir);
}

/** The unit's main pid, or 0 when it is not running. */
export function mainPid(layout: FleetLayout, unit: string): number {
  return currentState(layout.serviceDir, unit).mainPid;
}

/** Whether `pid` still runs one of this demo's emulators (so a recycled pid is never signalled). */
export function isDemoEmulator(pid: number, ports: readonly number[]): boolean {
  if (!isAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = args.indexOf('--port');
    return args.includes('emulate') && i >= 0 && ports.includes(Number(args[i + 1]));
  } catch {
    return true; // no /proc (macOS): trust the pid we just read from the unit's state
  }
}

/**
 * Last resort, synchronous (for `process.on('exit')`): SIGKILL every agent, supervisor and
 * emulator of the demo. Never throws.
 */
export function killEverythingSync(layout: FleetLayout | undefined, agents: readonly AgentChild[]): void {
  for (const a of agents) {
    if (a.running()) {
      try {
        a.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (!layout) return;
  let files: string[] = [];
  try {
    files = readdirSync(stateDir(layout.serviceDir)).filter((f) => f.endsWith('.service.json'));
  } catch {
    return;
  }
  for (const f of files) {
    const unit = f.slice(0, -'.json'.length);
    try {
      const state = readState(layout.serviceDir, unit);
      if (isSupervisorOf(state.supervisorPid, unit)) signalProcess(state.supervisorPid, 'SIGKILL');
      if (state.mainPid && isDemoEmulator(state.mainPid, layout.ports)) {
        signalGroup(state.mainPid, 'SIGCONT');
        signalGroup(state.mainPid, 'SIGKILL');
      }
    } catch {
      // best effort
    }
  }
}
