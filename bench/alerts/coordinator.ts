/**
 * Our coordinator as its own process for the alert-storm benchmark:
 * `node dist/cli/main.js coordinator -c FILE`, SQLite in a temp dir, log level warn, one
 * `webhook` receiver (Alertmanager webhook v4 body) pointing at the bench's receiver, and
 * the same grouping as the Alertmanager side: groupBy [alertname], groupWait 1s,
 * groupInterval 10s, repeatInterval 4h, sendResolved. With `inspect`, it listens for the
 * V8 inspector on a loopback port so one window can be CPU-profiled.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { stopGroup } from '../lib/proc.js';
import { spawnCoordinator } from '../lib/coordinator.js';
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

export async function startCoordinatorProcess(opts: { cli: string; dir: string; webhookUrl: string; inspect?: boolean }): Promise<CoordinatorProc> {
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const g = GROUPING;
  const c = await spawnCoordinator({
    cli: opts.cli,
    dir: opts.dir,
    inspect: opts.inspect,
    yaml: (port) =>
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
  });
  return { ...c, wsUrl: `ws://127.0.0.1:${c.port}/agent`, token, stop: () => stopGroup(c.child, 10_000) };
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
