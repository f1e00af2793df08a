/**
 * Multi-process harness for agent integration tests: emulated LLM servers run as units of
 * the service-manager stand-in (so restarts really restart them), the agent runs as a real
 * child process, and its JSON log lines are collected as events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServiceSandbox, freePort, waitFor, type ServiceSandbox } from './service-manager.js';
import type { AgentEvent } from '../../agent/events.js';

export const CLI = new URL('../../cli/main.js', import.meta.url).pathname;
export { freePort, waitFor };

/** An event line as the agent logs it (docs/protocol.md). */
export type LoggedEvent = AgentEvent;

export interface AgentProcess {
  child: ChildProcess;
  events: LoggedEvent[];
  lines: string[];
  waitEvent(pred: (e: LoggedEvent) => boolean, timeoutMs?: number, what?: string): Promise<LoggedEvent>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Harness {
  sandbox: ServiceSandbox;
  dir: string;
  /** writes a unit that runs `llm-health emulate` and returns its name */
  emulatorUnit(unit: string, opts: { kind: string; port: number; args?: string[] }): string;
  start(unit: string): Promise<void>;
  /** an emulator unit on a free port, started and answering; returns the port */
  startEmulator(unit: string, kind: string, args?: string[]): Promise<number>;
  setMode(port: number, mode: string, extra?: Record<string, unknown>): Promise<void>;
  healthy(url: string): Promise<boolean>;
  /** `wrap` runs the agent under a prefix command, e.g. ['ip', 'netns', 'exec', NAME] */
  spawnAgent(configYaml: string, env?: NodeJS.ProcessEnv, wrap?: string[]): AgentProcess;
  cleanup(): Promise<void>;
}

export function createHarness(): Harness {
  const sandbox = createServiceSandbox();
  const agents: AgentProcess[] = [];
  return {
    sandbox,
    dir: sandbox.dir,
    emulatorUnit(unit, { kind, port, args = [] }) {
      sandbox.writeUnit(unit, { execStart: [process.execPath, CLI, 'emulate', '--kind', kind, '--port', String(port), ...args], timeoutStopSec: '3s' });
      return unit;
    },
    async start(unit) {
      const r = await sandbox.systemctl('start', unit);
      if (r.code !== 0) throw new Error(`start ${unit}: ${r.stderr}`);
    },
    async startEmulator(unit, kind, args = []) {
      const port = await freePort();
      this.emulatorUnit(unit, { kind, port, args });
      await this.start(unit);
      await waitFor(() => this.healthy(`http://127.0.0.1:${port}${kind === 'ollama' ? '/api/version' : '/health'}`), 10_000, `${unit} up`);
      return port;
    },
    async setMode(port, mode, extra = {}) {
      const res = await fetch(`http://127.0.0.1:${port}/__emulator/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, ...extra }) });
      if (!res.ok) throw new Error(`setMode ${mode}: ${res.status}`);
      await res.arrayBuffer();
    },
    async healthy(url) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(500) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    },
    spawnAgent(configYaml, env = {}, wrap = []) {
      const file = join(sandbox.dir, `agent-${agents.length}.yaml`);
      writeFileSync(file, configYaml);
      const proc = spawnAgentProcess(file, sandbox.env, env, wrap);
      agents.push(proc);
      return proc;
    },
    async cleanup() {
      await Promise.all(agents.map((a) => a.stop()));
      await sandbox.cleanup();
    },
  };
}

/**
 * `llm-health agent -c FILE` as a child process whose JSON log lines are collected as events.
 * It logs at info (events are info lines) unless `extraEnv` says otherwise. `wrap` runs it
 * under a prefix command, e.g. ['ip', 'netns', 'exec', NAME].
 */
export function spawnAgentProcess(file: string, baseEnv: NodeJS.ProcessEnv, extraEnv: NodeJS.ProcessEnv = {}, wrap: string[] = []): AgentProcess {
  const argv = [process.execPath, CLI, 'agent', '-c', file];
  const [cmd, ...args] = [...wrap, ...argv];
  const child = spawn(cmd!, args, { env: { ...baseEnv, LLM_HEALTH_LOG_LEVEL: 'info', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: LoggedEvent[] = [];
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    try {
      const rec = JSON.parse(line) as { event?: LoggedEvent };
      if (rec.event) {
        events.push(rec.event);
        for (const w of waiters) w();
      }
    } catch {
      /* not JSON: ignore */
    }
  });
  child.stderr!.on('data', (d: Buffer) => lines.push(`[stderr] ${d.toString()}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: AgentProcess = {
    child,
    events,
    lines,
    waitEvent(pred, timeoutMs = 15_000, what = 'event') {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far:\n${events.map((e) => `${e.service ?? '-'} ${e.type} ${e.from ?? ''}->${e.to ?? ''} ${e.reason}`).join('\n')}`));
        }, timeoutMs);
        const check = () => {
          const e = events.find(pred);
          if (e) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(e);
          }
        };
        waiters.add(check);
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  return proc;
}

/** Agent YAML with the reference timing (interval 1s, timeout 1s, retries 3, retryDelay 500ms). */
export function agentYaml(services: string, extra = ''): string {
  return `agent: { id: test-agent }
defaults:
  interval: 1s
  timeout: 1s
  retries: 3
  retryDelay: 500ms
  startupGrace: 10s
  recoverAfter: 2
  stallAfter: 3s
gpu: { enabled: false }
services:
${services}
${extra}`;
}
