/**
 * Our coordinator as its own process for the alert-storm benchmark:
 * `node dist/cli/main.js coordinator -c FILE`, SQLite in a temp dir, log level warn, one
 * `webhook` receiver (Alertmanager webhook v4 body) pointing at the bench's receiver, and
 * the same grouping as the Alertmanager side: groupBy [alertname], groupWait 1s,
 * groupInterval 10s, repeatInterval 4h, sendResolved. With `inspect`, it listens for the
 * V8 inspector on a loopback port so one window can be CPU-profiled.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGroup, stopGroup } from '../lib/proc.js';
import { PatternCounter } from './receiver.js';

export interface GroupSettings {
  groupBy: string[];
  groupWaitS: number;
  groupIntervalS: number;
  repeatIntervalH: number;
  sendResolved: boolean;
}

export const GROUPING: GroupSettings = { groupBy: ['alertname'], groupWaitS: 1, groupIntervalS: 10, repeatIntervalH: 4, sendResolved: true };

export interface CoordinatorProc {
  child: ChildProcess;
  pid: number;
  url: string;
  wsUrl: string;
  token: string;
  inspectPort: number | null;
  /** warn/error log lines: count and the first few messages */
  warnings: () => { count: number; kinds: Record<string, number> };
  tail: string[];
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export async function startCoordinatorProcess(opts: { cli: string; dir: string; webhookUrl: string; inspect?: boolean }): Promise<CoordinatorProc> {
  const port = await freePort();
  const inspectPort = opts.inspect ? await freePort() : null;
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const file = join(opts.dir, 'coordinator.yaml');
  const g = GROUPING;
  writeFileSync(
    file,
    [
      `listen: 127.0.0.1:${port}`,
      `dataDir: ${JSON.stringify(join(opts.dir, 'data'))}`,
      'auth:',
      `  agentTokens: [${JSON.stringify(token)}]`,
      'fleet:',
      '  agentLostAfter: 60s',
      '  heartbeatInterval: 10s',
      '  helloTimeout: 15s',
      'alerts:',
      `  groupBy: [${g.groupBy.join(', ')}]`,
      `  groupWait: ${g.groupWaitS}s`,
      `  groupInterval: ${g.groupIntervalS}s`,
      `  repeatInterval: ${g.repeatIntervalH}h`,
      `  sendResolved: ${g.sendResolved}`,
      'notify:',
      '  - name: hook',
      '    type: webhook',
      `    url: ${opts.webhookUrl}`,
      '    timeout: 10s',
      'store:',
      '  retention: 30d',
      '  pruneInterval: 1h',
      'log:',
      '  level: warn',
      '',
    ].join('\n'),
  );
  const args = [...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []), opts.cli, 'coordinator', '-c', file];
  const child = spawnGroup(process.execPath, args, { cwd: opts.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLM_HEALTH_LOG_LEVEL: 'warn' } });
  const tail: string[] = [];
  let warnCount = 0;
  const kinds: Record<string, number> = {};
  const onLine = (line: string) => {
    if (!line.trim()) return;
    tail.push(line.slice(0, 400));
    if (tail.length > 30) tail.shift();
    try {
      const rec = JSON.parse(line) as { level?: number; msg?: string };
      if ((rec.level ?? 0) >= 40) {
        warnCount++;
        const k = (rec.msg ?? '?').slice(0, 80);
        kinds[k] = (kinds[k] ?? 0) + 1;
      }
    } catch {
      // not a log record (the inspector's banner)
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (buf.length > 64 * 1024) buf = '';
    });
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`coordinator exited (${child.exitCode ?? child.signalCode}) at startup: ${tail.join(' | ')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new Error(`coordinator did not answer /healthz within 20 s: ${tail.join(' | ')}`);
    }
    await sleep(100);
  }
  return {
    child,
    pid: child.pid!,
    url,
    wsUrl: `ws://127.0.0.1:${port}/agent`,
    token,
    inspectPort,
    warnings: () => ({ count: warnCount, kinds: { ...kinds } }),
    tail,
    stop: () => stopGroup(child, 10_000),
  };
}

/**
 * Counts the alerts `GET url` lists without building the answer as one string: `needle`
 * (a key every alert has once) is counted in the streamed bytes. Returns -1 on failure.
 */
export async function countListed(url: string, needle: string, timeoutMs = 60_000): Promise<{ count: number; bytes: number; ms: number }> {
  const started = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok || !res.body) return { count: -1, bytes: 0, ms: Date.now() - started };
    const counter = new PatternCounter([Buffer.from(needle)]);
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      bytes += b.length;
      counter.feed(b);
    }
    return { count: counter.counts[0]!, bytes, ms: Date.now() - started };
  } catch {
    return { count: -1, bytes: 0, ms: Date.now() - started };
  }
}
