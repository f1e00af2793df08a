import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import WebSocket from 'ws';
import { parseCoordinatorConfig, type CoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { createLogger } from '../../shared/logger.js';
import type { CoordinatorMessage } from '../../shared/protocol/messages.js';
import { startCoordinator, type CoordinatorDeps, type RunningCoordinator } from '../../coordinator/main.js';
import { hello as helloMsg } from './protocol-samples.js';

export const AGENT_TOKEN = 'agent-token-0123456789';
export const OTHER_AGENT_TOKEN = 'agent-token-second';
export const VIEWER_TOKEN = 'viewer-token-abcdef';
export const ADMIN_TOKEN = 'admin-token-xyz987';

export interface TestCoordinator {
  coord: RunningCoordinator;
  config: CoordinatorConfig;
  dir: string;
  /** every log line written so far */
  logs(): string;
  close(): Promise<void>;
}

/** A coordinator on 127.0.0.1 (or `options.host`) and an ephemeral port, logs captured, data in a temp dir. */
export async function startTestCoordinator(
  extraYaml = '',
  deps: CoordinatorDeps = {},
  options: { viewerTokens?: string[]; host?: string; /** YAML flow list for auth.agentTokens; default: the two plain test tokens */ agentTokens?: string } = {},
): Promise<TestCoordinator> {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-coord-'));
  const yaml = `listen: ${options.host ?? '127.0.0.1'}:0
dataDir: ${dir}
auth:
  agentTokens: ${options.agentTokens ?? `[${AGENT_TOKEN}, ${OTHER_AGENT_TOKEN}]`}
  adminTokens: [${ADMIN_TOKEN}]
  viewerTokens: [${(options.viewerTokens ?? []).join(', ')}]
${extraYaml}`;
  const config = parseCoordinatorConfig(join(dir, 'coordinator.yaml'), yaml, { env: {} });
  let captured = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      captured += chunk.toString();
      cb();
    },
  });
  const logger = createLogger({ name: 'coordinator', level: 'debug', destination });
  const coord = await startCoordinator(config, { logger, version: 'test', ...deps });
  return {
    coord,
    config,
    dir,
    logs: () => captured,
    close: async () => {
      await coord.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const wsUrl = (coord: RunningCoordinator) => `${coord.url.replace(/^http/, 'ws')}/agent`;

/** Resolves with the HTTP status when the upgrade is refused, rejects if it succeeds. */
export function expectUpgradeRefused(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('upgrade unexpectedly accepted'));
    });
    ws.on('error', () => undefined);
  });
}

/** A scripted agent over a real WebSocket. */
export class TestAgent {
  readonly inbox: CoordinatorMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()) as CoordinatorMessage);
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
  }

  static connect(url: string, token = AGENT_TOKEN, options: WebSocket.ClientOptions = {}): Promise<TestAgent> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, ...options });
      const agent = new TestAgent(ws);
      ws.once('open', () => resolve(agent));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Connects and says hello; resolves after the welcome. */
  static async hello(url: string, agentId = 'gpu-a', bootId = 'boot1', token = AGENT_TOKEN): Promise<{ agent: TestAgent; welcome: Extract<CoordinatorMessage, { type: 'welcome' }> }> {
    const agent = await TestAgent.connect(url, token);
    agent.send(helloMsg(agentId, bootId));
    const welcome = await agent.next('welcome');
    return { agent, welcome };
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg));
  }

  /** The next message of `type` (earlier ones of other types are skipped and dropped). */
  async next<K extends CoordinatorMessage['type']>(type: K, timeoutMs = 5000): Promise<Extract<CoordinatorMessage, { type: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(0, i + 1).pop() as Extract<CoordinatorMessage, { type: K }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${timeoutMs}ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Waits for an ack covering `seq` of `bootId`. */
  async ackedUpTo(seq: number, bootId = 'boot1', timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ack = await this.next('ack', Math.max(1, deadline - Date.now()));
      if (ack.bootId === bootId && ack.seq >= seq) return;
    }
  }

  async closeAndWait(): Promise<void> {
    this.ws.close(1000);
    await this.closed;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export async function getJson(url: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

/** Polls `check` until it returns true (bounded). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what} not reached within ${timeoutMs}ms`);
}

/** One request through node:http or node:https request(), which, unlike fetch, may set Host or a private CA. */
export function requestText(send: (options: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest, options: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    send(options, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}
