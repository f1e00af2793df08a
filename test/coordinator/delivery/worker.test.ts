import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FakeClock } from '../../../shared/clock.js';
import { createLogger, type Logger } from '../../../shared/logger.js';
import type { Notification, NotificationLogEntry } from '../../../coordinator/alerts/types.js';
import { DeliveryService } from '../../../coordinator/delivery/service.js';
import { backoffDelay, retryDelay, scrubError, MAX_BACKOFF_MS } from '../../../coordinator/delivery/retry.js';
import type { WorkerState } from '../../../coordinator/delivery/worker.js';
import type { DeliveryResult, Notifier } from '../../../coordinator/notify/types.js';
import type { DeliveryOutcome } from '../../../coordinator/store/types.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1);
const SECRET = 'T000/B000/XXXXsecretXXXX';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-delivery-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'llm-health.db');
}

/** Polls in real time (the worker does real socket I/O between fake-clock waits). */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

// ---------------------------------------------------------------- a loopback receiver

type Mode = { kind: 'ok' } | { kind: 'status'; status: number; headers?: Record<string, string>; times?: number } | { kind: 'slow'; ms: number } | { kind: 'hang' };

interface Received {
  body: { notificationId: string; part: number; of: number };
  at: number;
}

/** A webhook sink on 127.0.0.1 that can answer errors, answer slowly, or be down (connections refused). */
class Receiver {
  readonly received: Received[] = [];
  /** every request, answered or not */
  requests = 0;
  mode: Mode = { kind: 'ok' };
  private server: Server | undefined;
  port = 0;

  /** the clock whose time a receipt is stamped with (a restarted coordinator brings its own) */
  constructor(public clock: FakeClock) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/${SECRET}`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: connections are refused until up() again (same port). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    this.requests++;
    const mode = this.mode;
    if (mode.kind === 'hang') return;
    if (mode.kind === 'slow') await new Promise((r) => setTimeout(r, mode.ms));
    if (mode.kind === 'status') {
      if (mode.times !== undefined && --mode.times <= 0) this.mode = { kind: 'ok' };
      res.writeHead(mode.status, { 'content-type': 'text/plain', ...mode.headers });
      res.end(`error ${mode.status}`);
      return;
    }
    this.received.push({ body: JSON.parse(text) as Received['body'], at: this.clock.now() });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  }
}

/**
 * A Notifier like the real webhook ones: build() splits a notification into `parts`
 * messages; deliver() POSTs one to the receiver and classifies the answer (429 with
 * Retry-After, 5xx and refused connections retryable; other 4xx permanent). Its errors
 * quote the secret URL on purpose: the worker must scrub them.
 */
class HttpNotifier implements Notifier<{ notificationId: string; part: number; of: number }> {
  readonly type = 'webhook' as const;
  readonly timeoutMs = 2000;
  constructor(
    readonly name: string,
    private readonly receiver: Receiver,
    readonly minIntervalMs = 0,
    private readonly parts = 1,
  ) {}

  build(n: Notification) {
    return Array.from({ length: this.parts }, (_, i) => ({ notificationId: n.id, part: i, of: this.parts }));
  }

  async deliver(message: { notificationId: string; part: number; of: number }, signal: AbortSignal): Promise<DeliveryResult> {
    const url = this.receiver.url;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', body: JSON.stringify(message), headers: { 'content-type': 'application/json' }, signal });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      return { ok: false, retryable: true, error: `POST ${url} failed: ${code}` };
    }
    const body = await res.text();
    if (res.ok) return { ok: true, status: res.status };
    if (res.status === 429 || res.status >= 500) {
      const ra = res.headers.get('retry-after');
      return { ok: false, retryable: true, status: res.status, error: `POST ${url}: ${res.status} ${body}`, ...(ra ? { retryAfterMs: Number(ra) * 1000 } : {}) };
    }
    return { ok: false, retryable: false, status: res.status, error: `POST ${url}: ${res.status} ${body}` };
  }

  describe(): string {
    return `webhook http://127.0.0.1:${this.receiver.port}/[redacted]`;
  }
}

// ---------------------------------------------------------------- fixtures

let nextId = 1;
function notification(receiver: string, groupKey = 'g1'): Notification {
  return {
    id: `n${nextId++}`,
    receiver,
    groupKey,
    groupLabels: { alertname: 'LLMServiceDown' },
    commonLabels: { alertname: 'LLMServiceDown' },
    status: 'firing',
    firingCount: 1,
    resolvedCount: 0,
    alerts: [],
    truncatedAlerts: 0,
    externalUrl: 'http://127.0.0.1:7700/',
    createdAt: new Date(T0).toISOString(),
  };
}

function logFor(n: Notification, sentAt: number): NotificationLogEntry {
  return { receiver: n.receiver, groupKey: n.groupKey, firing: ['fp1'], resolved: [], sentAt };
}

interface Harness {
  clock: FakeClock;
  store: SqliteStore;
  service: DeliveryService;
  outcomes: [string, DeliveryOutcome][];
  logs: () => string;
  state: (receiver: string) => WorkerState;
  /** waits (real time) until the receiver's worker sleeps on the clock: idle or waiting for a retry */
  settled: (receiver: string) => Promise<void>;
  stop: () => Promise<void>;
}

async function harness(notifiers: Notifier[], options: { file?: string; clock?: FakeClock; stopGraceMs?: number } = {}): Promise<Harness> {
  const clock = options.clock ?? new FakeClock(T0);
  const store = SqliteStore.open(options.file ?? tempDb());
  let captured = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      captured += chunk.toString();
      cb();
    },
  });
  const logger: Logger = createLogger({ name: 'test', level: 'debug', destination });
  const outcomes: [string, DeliveryOutcome][] = [];
  const service = new DeliveryService({
    store: store.outbox,
    notifiers,
    clock,
    logger,
    onOutcome: (r, o) => outcomes.push([r, o]),
    random: () => 0,
    ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
  });
  await service.start();
  const state = (receiver: string) => service.status().find((s) => s.receiver === receiver)!.state;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await service.stop();
    await store.close();
  };
  cleanups.push(stop);
  return {
    clock,
    store,
    service,
    outcomes,
    logs: () => captured,
    state,
    settled: (receiver) => until(() => ['idle', 'waiting'].includes(state(receiver)), `${receiver} to settle (now ${state(receiver)})`),
    stop,
  };
}

async function receiver(clock: FakeClock): Promise<Receiver> {
  const r = new Receiver(clock);
  await r.up();
  cleanups.push(() => r.down());
  return r;
}

// ---------------------------------------------------------------- tests

test('backoff: 1 s doubling to a 5 min cap, jitter only shortens; Retry-After wins, within bounds', () => {
  const none = () => 0;
  assert.deepEqual([1, 2, 3, 4, 9, 10, 50].map((n) => backoffDelay(n, none)), [1000, 2000, 4000, 8000, 256_000, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
  assert.equal(backoffDelay(1, () => 1), 800);
  assert.equal(retryDelay(30_000, 7, 1000, none), 30_000);
  assert.equal(retryDelay(0, 7, 1000, none), 1000, 'never sooner than the pacing interval');
  assert.equal(retryDelay(10 * 86_400_000, 1, 0, none), 3_600_000, 'capped');
  assert.equal(retryDelay(undefined, 3, 1000, none), 4000);
  assert.equal(scrubError(`POST https://hooks.slack.com/services/${SECRET} answered 500\nAuthorization: Bearer abc.def`), 'POST https://hooks.slack.com/[redacted] answered 500 Authorization: Bearer [redacted]');
});

test('a multi-message notification goes out in order, paced at minIntervalMs, progress recorded per message', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  const h = await harness([new HttpNotifier('hook', r, 1000, 3)], { clock });
  const n = notification('hook');
  const entry = logFor(n, T0);
  const enqueued = h.service.enqueue(n, entry);
  assert.deepEqual(h.service.getLogEntry('hook', 'g1'), entry, 'the log copy is updated synchronously');
  await enqueued;

  await until(() => h.state('hook') === 'pacing', 'pacing after the first message');
  assert.equal(r.received.length, 1);
  await h.clock.advance(999);
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(r.received.length, 1, 'no second message before minIntervalMs');
  await h.clock.advance(1);
  await until(() => r.received.length === 2 && h.state('hook') === 'pacing', 'second message');
  await h.clock.advance(1000);
  await until(() => r.received.length === 3, 'third message');
  await h.settled('hook');

  assert.deepEqual(r.received.map((x) => [x.body.notificationId, x.body.part, x.at]), [
    [n.id, 0, T0],
    [n.id, 1, T0 + 1000],
    [n.id, 2, T0 + 2000],
  ]);
  const row = (await h.store.outbox.getOutboxEntry(n.id))!;
  assert.equal(row.state, 'delivered');
  assert.equal(row.nextMessage, 3);
  assert.deepEqual((await h.store.outbox.listDeliveries({ receiver: 'hook' })).map((d) => [d.messageIndex, d.outcome, d.status]), [
    [0, 'delivered', 200],
    [1, 'delivered', 200],
    [2, 'delivered', 200],
  ]);
  assert.deepEqual(h.outcomes, [
    ['hook', 'delivered'],
    ['hook', 'delivered'],
    ['hook', 'delivered'],
  ]);
  await h.stop();
});

test('retryable failures back off exponentially; no attempt comes early', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  r.mode = { kind: 'status', status: 503, times: 2 };
  const h = await harness([new HttpNotifier('hook', r)], { clock });
  const n = notification('hook');
  await h.service.enqueue(n, logFor(n, T0));

  await until(() => r.requests === 1, 'first attempt');
  await h.settled('hook');
  assert.equal(h.service.status()[0]!.nextAttemptAt, T0 + 1000);
  await h.clock.advance(999);
  await h.settled('hook');
  assert.equal(r.requests, 1);
  await h.clock.advance(1);
  await until(() => r.requests === 2, 'second attempt');
  await h.settled('hook');
  assert.equal(h.service.status()[0]!.nextAttemptAt, T0 + 3000, 'second wait is 2 s');
  await h.clock.advance(1999);
  await h.settled('hook');
  assert.equal(r.requests, 2);
  await h.clock.advance(1);
  await until(() => r.received.length === 1, 'delivery');
  await h.settled('hook');
  assert.equal(r.received[0]!.at, T0 + 3000);
  assert.deepEqual((await h.store.outbox.listDeliveries({})).map((d) => [d.outcome, d.status, d.at]), [
    ['retry', 503, T0],
    ['retry', 503, T0 + 1000],
    ['delivered', 200, T0 + 3000],
  ]);
  const warn = h.logs().split('\n').find((l) => l.includes('will retry'))!;
  assert.ok(warn.includes('"level":40'));
  assert.ok(!h.logs().includes(SECRET), 'the webhook secret never reaches the log');
  assert.ok(!(await h.store.outbox.listDeliveries({})).some((d) => d.error?.includes(SECRET)), 'nor the delivery log');
  await h.stop();
});

test('429 with Retry-After: nothing is sent before the provider said, then it goes out', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  r.mode = { kind: 'status', status: 429, headers: { 'retry-after': '30' }, times: 1 };
  const h = await harness([new HttpNotifier('slack', r, 1000)], { clock });
  const first = notification('slack');
  const second = notification('slack', 'g2');
  await h.service.enqueue(first, logFor(first, T0));
  await until(() => r.requests === 1, 'first attempt');
  await h.settled('slack');
  assert.equal(h.service.status()[0]!.nextAttemptAt, T0 + 30_000);

  // a new notification wakes the worker but does not overtake the one waiting
  await h.service.enqueue(second, logFor(second, T0));
  await h.settled('slack');
  for (let t = 0; t < 29; t++) {
    await h.clock.advance(1000);
    await h.settled('slack');
  }
  await h.clock.advance(999);
  await h.settled('slack');
  assert.equal(r.requests, 1, 'no attempt before Retry-After');
  await h.clock.advance(1);
  await until(() => r.received.length === 1 && h.state('slack') === 'pacing', 'retry after 30 s');
  await h.clock.advance(1000);
  await until(() => r.received.length === 2, 'the second notification, paced');
  assert.deepEqual(r.received.map((x) => [x.body.notificationId, x.at]), [
    [first.id, T0 + 30_000],
    [second.id, T0 + 31_000],
  ]);
  assert.deepEqual(h.outcomes, [
    ['slack', 'retry'],
    ['slack', 'delivered'],
    ['slack', 'delivered'],
  ]);
  await h.stop();
});

test('a permanent failure is not retried: failed row, delivery log, error-level log without secrets; the queue moves on', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  r.mode = { kind: 'status', status: 404, times: 1 };
  const h = await harness([new HttpNotifier('discord', r)], { clock });
  const gone = notification('discord');
  const next = notification('discord', 'g2');
  await h.service.enqueue(gone, logFor(gone, T0));
  await h.service.enqueue(next, logFor(next, T0));
  await until(() => r.received.length === 1, 'the next notification');
  await h.settled('discord');
  await h.clock.advance(10 * 60_000);
  await h.settled('discord');
  assert.equal(r.requests, 2, 'the 404 was not retried');
  assert.equal(r.received[0]!.body.notificationId, next.id);

  const row = (await h.store.outbox.getOutboxEntry(gone.id))!;
  assert.equal(row.state, 'failed');
  assert.match(row.lastError!, /404/);
  assert.ok(!row.lastError!.includes(SECRET));
  assert.deepEqual((await h.store.outbox.listDeliveries({ notificationId: gone.id })).map((d) => [d.outcome, d.status]), [['failed', 404]]);
  const line = h.logs().split('\n').find((l) => l.includes('failed permanently'))!;
  assert.ok(line.includes('"level":50'), line);
  assert.ok(line.includes('[redacted]'));
  assert.ok(!h.logs().includes(SECRET));
  assert.deepEqual(h.outcomes, [
    ['discord', 'failed'],
    ['discord', 'delivered'],
  ]);
  await h.stop();
});

test('a receiver refusing connections for 5 minutes gets the notification when it is back; the others are not delayed', async () => {
  const clock = new FakeClock(T0);
  const down = await receiver(clock);
  const up = await receiver(clock);
  await down.down();
  const h = await harness([new HttpNotifier('down', down, 1000), new HttpNotifier('up', up, 1000)], { clock });

  const a = notification('down');
  const b = notification('up');
  await h.service.enqueue(a, logFor(a, T0));
  await h.service.enqueue(b, logFor(b, T0));
  await until(() => up.received.length === 1, 'the healthy receiver');
  await h.settled('up');
  assert.equal(up.received[0]!.at, T0, 'sent at once');

  let laterUp: Notification | undefined;
  // follow the down receiver's retries for 5 minutes; meanwhile the other receiver gets more
  for (;;) {
    await h.settled('down');
    const due = h.service.status().find((s) => s.receiver === 'down')!.nextAttemptAt!;
    if (due >= T0 + 5 * 60_000) break;
    await h.clock.advance(due - h.clock.now());
    if (!laterUp && h.clock.now() >= T0 + 60_000) {
      laterUp = notification('up', 'g2');
      const sentAt = h.clock.now();
      await h.service.enqueue(laterUp, logFor(laterUp, sentAt));
      await until(() => up.received.length === 2, 'a later notification to the healthy receiver');
      await h.settled('up');
      assert.equal(up.received[1]!.at, sentAt, 'not held up by the other receiver');
    }
  }
  const refusals = (await h.store.outbox.listDeliveries({ receiver: 'down' })).filter((d) => d.outcome === 'retry');
  assert.ok(refusals.length >= 8, `retried ${refusals.length} times`);
  assert.match(refusals[0]!.error!, /ECONNREFUSED/);
  assert.equal(down.received.length, 0);

  await down.up(); // back, on the same port
  const due = h.service.status().find((s) => s.receiver === 'down')!.nextAttemptAt!;
  await h.clock.advance(due - h.clock.now());
  await until(() => down.received.length === 1, 'delivery after the outage');
  assert.ok(down.received[0]!.at >= T0 + 5 * 60_000 && down.received[0]!.at <= T0 + 10 * 60_000);
  assert.equal((await h.store.outbox.getOutboxEntry(a.id))!.state, 'delivered');
  assert.equal(up.received.length, 2, 'each notification once');
  assert.deepEqual((await h.store.outbox.listDeliveries({ receiver: 'up' })).map((d) => [d.outcome, d.at]), [
    ['delivered', T0],
    ['delivered', up.received[1]!.at],
  ]);
  await h.stop();
});

test('after a restart (new service, same database) delivery resumes where it stopped: no message is sent twice', async () => {
  const file = tempDb();
  const clockA = new FakeClock(T0);
  const r = await receiver(clockA);
  const a = await harness([new HttpNotifier('hook', r, 1000, 3)], { file, clock: clockA });
  const n = notification('hook');
  await a.service.enqueue(n, logFor(n, T0));
  await until(() => r.received.length === 1, 'first message');
  await until(() => a.state('hook') === 'pacing', 'pacing before the second message');
  // "SIGKILL": this process's clock never moves again and its database handle goes away
  await a.store.close();

  const clockB = new FakeClock(T0 + 5000);
  r.clock = clockB;
  const b = await harness([new HttpNotifier('hook', r, 1000, 3)], { file, clock: clockB });
  assert.deepEqual(b.service.getLogEntry('hook', 'g1'), logFor(n, T0), 'the notification log is loaded at start');
  await until(() => r.received.length === 2 && b.state('hook') === 'pacing', 'second message after the restart');
  await clockB.advance(1000);
  await until(() => r.received.length === 3, 'third message');
  await b.settled('hook');
  assert.deepEqual(r.received.map((x) => x.body.part), [0, 1, 2], 'each message exactly once, in order');
  assert.equal((await b.store.outbox.getOutboxEntry(n.id))!.state, 'delivered');
  await b.stop();
});

test('a Retry-After still running when the coordinator restarts is honoured by the next run', async () => {
  const file = tempDb();
  const clockA = new FakeClock(T0);
  const r = await receiver(clockA);
  r.mode = { kind: 'status', status: 429, headers: { 'retry-after': '120' }, times: 1 };
  const a = await harness([new HttpNotifier('hook', r)], { file, clock: clockA });
  const n = notification('hook');
  await a.service.enqueue(n, logFor(n, T0));
  await until(() => r.requests === 1, 'first attempt');
  await a.settled('hook');
  await a.stop();

  const clockB = new FakeClock(T0 + 60_000);
  r.clock = clockB;
  const b = await harness([new HttpNotifier('hook', r)], { file, clock: clockB });
  await b.settled('hook');
  assert.equal(b.service.status()[0]!.nextAttemptAt, T0 + 120_000);
  await clockB.advance(59_999);
  await b.settled('hook');
  assert.equal(r.requests, 1);
  await clockB.advance(1);
  await until(() => r.received.length === 1, 'delivery at the Retry-After time');
  assert.equal(r.received[0]!.at, T0 + 120_000);
  await b.stop();
});

test('stop() waits for a send in flight, and aborts one that outlasts the grace, leaving it pending', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  r.mode = { kind: 'slow', ms: 100 };
  const h = await harness([new HttpNotifier('hook', r)], { clock, stopGraceMs: 1000 });
  const n = notification('hook');
  await h.service.enqueue(n, logFor(n, T0));
  await until(() => r.requests === 1, 'request in flight');
  await h.service.stop();
  assert.equal((await h.store.outbox.getOutboxEntry(n.id))!.state, 'delivered', 'the slow answer was waited for');
  await h.stop();

  const clock2 = new FakeClock(T0);
  const r2 = await receiver(clock2);
  r2.mode = { kind: 'hang' };
  const file = tempDb();
  const h2 = await harness([new HttpNotifier('hook', r2)], { file, clock: clock2, stopGraceMs: 1000 });
  const m = notification('hook');
  await h2.service.enqueue(m, logFor(m, T0));
  await until(() => r2.requests === 1, 'request in flight');
  const stopping = h2.service.stop();
  await clock2.advance(1000);
  await stopping;
  const row = (await h2.store.outbox.getOutboxEntry(m.id))!;
  assert.equal(row.state, 'pending');
  assert.equal(row.nextMessage, 0);
  assert.equal(row.attempts, 0, 'an abort at shutdown is not counted as a failure');
  assert.deepEqual(h2.outcomes, []);
  await h2.stop();
});

test('messages that cannot be built become a failed row; unknown receivers are refused', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  const broken = new HttpNotifier('hook', r);
  broken.build = () => {
    throw new Error(`template error near ${r.url}`);
  };
  const h = await harness([broken], { clock });
  const n = notification('hook');
  await h.service.enqueue(n, logFor(n, T0));
  const row = (await h.store.outbox.getOutboxEntry(n.id))!;
  assert.equal(row.state, 'failed');
  assert.match(row.lastError!, /template error/);
  assert.ok(!row.lastError!.includes(SECRET));
  assert.ok(h.service.getLogEntry('hook', 'g1'));
  assert.deepEqual(h.outcomes, [['hook', 'failed']]);
  await assert.rejects(h.service.enqueue(notification('nobody'), logFor(notification('nobody'), T0)), /no receiver named/);
  assert.throws(() => new DeliveryService({ store: h.store.outbox, notifiers: [broken, broken], clock, logger: createLogger({ level: 'silent' }) }), /unique/);
  await h.stop();
});

test('emit/updateLog for the synchronous dispatcher: the log copy changes at once, the store with it; a failed write is undone', async () => {
  const clock = new FakeClock(T0);
  const r = await receiver(clock);
  const file = tempDb();
  const h = await harness([new HttpNotifier('hook', r)], { file, clock });
  const n = notification('hook');
  const entry = logFor(n, T0);
  h.service.emit(n, entry);
  assert.deepEqual(h.service.getLogEntry('hook', 'g1'), entry);
  assert.ok(await h.store.outbox.getOutboxEntry(n.id), 'committed when emit returns (SQLite writes synchronously)');
  await until(() => r.received.length === 1, 'delivery');
  await h.settled('hook');

  const quiet = { ...entry, firing: [], resolved: ['fp1'], sentAt: T0 + 5 };
  h.service.updateLog(quiet);
  assert.deepEqual(h.service.getLogEntry('hook', 'g1'), quiet);
  assert.deepEqual(await h.store.outbox.getNotificationLog('hook', 'g1'), quiet);
  assert.equal((await h.store.outbox.listOutbox({})).length, 1, 'no notification for a log-only update');

  // the database goes away: the enqueue fails and the dedup stage sees the previous entry
  await h.store.close();
  const m = notification('hook');
  await assert.rejects(h.service.enqueue(m, logFor(m, T0 + 10)));
  assert.deepEqual(h.service.getLogEntry('hook', 'g1'), quiet);
  h.service.emit(m, logFor(m, T0 + 10));
  await until(() => h.logs().includes('could not queue a notification'), 'the error line');
  assert.deepEqual(h.service.getLogEntry('hook', 'g1'), quiet);
  await h.service.stop();
});
