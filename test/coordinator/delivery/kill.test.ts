import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../../../shared/clock.js';
import { silentLogger } from '../../../shared/logger.js';
import { DeliveryService } from '../../../coordinator/delivery/service.js';
import type { DeliveryResult, Notifier } from '../../../coordinator/notify/types.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

/**
 * A real SIGKILL, not a simulated one: a child process runs a DeliveryService, is killed
 * between two messages of one notification, and a new service on the same database file
 * sends the rest. The receiver must see every message exactly once.
 */

const DIST = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The child: a webhook notifier splitting every notification into 3 messages, 60 s apart (so the kill lands between two). */
const CHILD = `
import { SqliteStore } from '${DIST}coordinator/store/sqlite-store.js';
import { DeliveryService } from '${DIST}coordinator/delivery/service.js';
import { SystemClock } from '${DIST}shared/clock.js';
import { silentLogger } from '${DIST}shared/logger.js';
const [file, url, intervalMs] = process.argv.slice(1);
const notifier = {
  name: 'hook', type: 'webhook', minIntervalMs: Number(intervalMs), timeoutMs: 2000,
  build: (n) => [0, 1, 2].map((part) => ({ id: n.id, part })),
  async deliver(m, signal) {
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(m), signal });
    await res.text();
    return res.ok ? { ok: true, status: res.status } : { ok: false, retryable: true, status: res.status, error: 'HTTP ' + res.status };
  },
  describe: () => 'hook',
};
const store = SqliteStore.open(file);
const service = new DeliveryService({ store: store.outbox, notifiers: [notifier], clock: new SystemClock(), logger: silentLogger() });
await service.start();
const n = { id: 'n1', receiver: 'hook', groupKey: 'g', groupLabels: {}, commonLabels: {}, status: 'firing', firingCount: 1, resolvedCount: 0, alerts: [], truncatedAlerts: 0, externalUrl: '', createdAt: new Date().toISOString() };
await service.enqueue(n, { receiver: 'hook', groupKey: 'g', firing: ['fp'], resolved: [], sentAt: Date.now() });
process.stdout.write('enqueued\\n');
`;

class Sink implements Notifier<{ id: string; part: number }> {
  readonly name = 'hook';
  readonly type = 'webhook' as const;
  readonly minIntervalMs = 0;
  readonly timeoutMs = 2000;
  constructor(private readonly url: string) {}
  build(): { id: string; part: number }[] {
    throw new Error('not used: the outbox already holds the messages');
  }
  async deliver(m: { id: string; part: number }, signal: AbortSignal): Promise<DeliveryResult> {
    const res = await fetch(this.url, { method: 'POST', body: JSON.stringify(m), signal });
    await res.text();
    return res.ok ? { ok: true, status: res.status } : { ok: false, retryable: true, error: `HTTP ${res.status}` };
  }
  describe(): string {
    return 'hook';
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('SIGKILL between two messages: the next run sends the rest, none twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-delivery-kill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'llm-health.db');

  const received: { id: string; part: number }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body) as { id: string; part: number });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', CHILD, file, url, '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

  // watch progress through a second connection, as an operator's sqlite3 shell would
  const watcher = SqliteStore.open(file);
  cleanups.push(() => watcher.close());
  await until(async () => received.length === 1 && (await watcher.outbox.getOutboxEntry('n1'))?.nextMessage === 1, `first message recorded (child stderr: ${stderr})`);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.deepEqual(received.map((m) => m.part), [0]);

  const store = SqliteStore.open(file);
  const service = new DeliveryService({ store: store.outbox, notifiers: [new Sink(url)], clock: new SystemClock(), logger: silentLogger() });
  cleanups.push(async () => {
    await service.stop();
    await store.close();
  });
  await service.start();
  assert.deepEqual(service.getLogEntry('hook', 'g')?.firing, ['fp'], 'the log entry survived the kill');
  await until(async () => (await store.outbox.getOutboxEntry('n1'))?.state === 'delivered', 'the rest delivered');
  assert.deepEqual(received.map((m) => m.part), [0, 1, 2]);
  assert.ok(received.every((m) => m.id === 'n1'));
});

