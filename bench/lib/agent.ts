/**
 * Our agent as a real child process (`llm-health agent -c FILE`, its own process group),
 * with its JSON event lines collected as they arrive.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnGroup, stopGroup } from './proc.js';
import { alivePath, CLI, freePort, waitHealthy, type BenchServices, type Kind } from './services.js';
import { agentUnitEnvironment } from './unit-env.js';
import type { AgentEvent } from '../../agent/events.js';

/** An event line as the agent logs it (docs/protocol.md). */
export type { AgentEvent };

export interface AgentRun {
  child: ChildProcess;
  pid: number;
  events: AgentEvent[];
  /** the last few non-event lines (stderr included), for error messages */
  tail: string[];
  waitEvent(pred: (e: AgentEvent) => boolean, timeoutMs: number): Promise<AgentEvent | null>;
  stop(): Promise<void>;
}

/** dist/llm-health-agent.mjs: the one-file agent the build also produces */
export const AGENT_BUNDLE = resolve(dirname(CLI), '..', 'llm-health-agent.mjs');

export interface AgentSpawnOptions {
  /** the program to run: dist/cli/main.js (default) or the one-file bundle */
  entry?: string;
  /** node flags, e.g. ['--max-semi-space-size=1'] */
  nodeArgs?: string[];
  /**
   * The environment deploy/llm-health-agent.service gives the agent (NODE_OPTIONS,
   * MALLOC_ARENA_MAX): on by default, so benchmarks measure the agent as deployed.
   */
  unitEnvironment?: boolean;
  /** more environment on top (to explore) */
  extraEnv?: Record<string, string>;
}

export function spawnAgent(dir: string, name: string, yaml: string, env: NodeJS.ProcessEnv, options: AgentSpawnOptions = {}): AgentRun {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const unitEnv = options.unitEnvironment === false ? {} : agentUnitEnvironment();
  const child = spawnGroup(process.execPath, [...(options.nodeArgs ?? []), options.entry ?? CLI, 'agent', '-c', file], {
    env: { ...env, ...unitEnv, ...options.extraEnv, LLM_HEALTH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: AgentEvent[] = [];
  const tail: string[] = [];
  let waiters: (() => void)[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let rec: { event?: AgentEvent } | undefined;
    try {
      rec = JSON.parse(line) as { event?: AgentEvent };
    } catch {
      keep(line);
      return;
    }
    if (!rec.event) return keep(line);
    events.push(rec.event);
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => keep(`[stderr] ${line}`));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  });
  return {
    child,
    pid: child.pid!,
    events,
    tail,
    waitEvent(pred, timeoutMs) {
      const found = events.find(pred);
      if (found || exited) return Promise.resolve(found ?? null);
      return new Promise((resolve) => {
        const deadline = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          resolve(null);
        }, timeoutMs);
        const check = () => {
          const e = events.find(pred);
          if (e || exited) {
            clearTimeout(deadline);
            resolve(e ?? null);
          } else waiters.push(check);
        };
        waiters.push(check);
      });
    },
    stop: () => stopGroup(child, 5_000),
  };
}

export interface AgentService {
  name: string;
  kind: Kind;
  port: number;
  unit?: string;
}

/** The reference agent timing (interval 1s, timeout 1s, retries 3, retryDelay 500ms, startupGrace 10s), standalone. */
export function agentYaml(services: AgentService[], systemctl: string, overrides: { retryDelay?: string } = {}): string {
  const svc = services
    .map((s) => `  - name: ${s.name}\n    kind: ${s.kind}\n    url: http://127.0.0.1:${s.port}\n${s.unit ? `    unit: ${s.unit}\n` : ''}`)
    .join('');
  return `agent: { id: bench-agent }
defaults:
  interval: 1s
  timeout: 1s
  retries: 3
  retryDelay: ${overrides.retryDelay ?? '500ms'}
  startupGrace: 10s
gpu: { enabled: false }
restart:
  systemctl: [${JSON.stringify(systemctl)}]
services:
${svc}`;
}

export const isState = (service: string, to: string) => (e: AgentEvent) => e.type === 'state_changed' && e.service === service && e.to === to;

/** The 8 servers of mixed kinds the footprint and whole-process benchmarks watch. */
export const MIXED_FLEET: readonly Kind[] = ['llamacpp', 'llamacpp', 'vllm', 'vllm', 'tgi', 'ollama', 'sglang', 'openai'];

/**
 * One emulator unit per kind (units named `${prefix}-N-KIND.service`), started and answering
 * their alive path; throws naming the first that did not come up.
 */
export async function startEmulatorFleet(services: BenchServices, kinds: readonly Kind[], prefix: string): Promise<(AgentService & { unit: string })[]> {
  const fleet: (AgentService & { unit: string })[] = [];
  for (const [i, kind] of kinds.entries()) {
    const port = await freePort();
    const unit = `${prefix}-${i}-${kind}.service`;
    services.emulatorUnit(unit, kind, port);
    fleet.push({ name: `${kind}-${i}`, kind, port, unit });
  }
  await Promise.all(fleet.map((s) => services.ctl('start', s.unit)));
  for (const s of fleet) if (!(await waitHealthy(s.port, alivePath(s.kind)))) throw new Error(`${s.unit} did not come up`);
  return fleet;
}
