/**
 * The webhook receiver both systems send to: one loopback HTTP server that reads every
 * body in full, answers 200, and records its size, arrival time and how many alerts it
 * carries (listed in `alerts`, plus `truncatedAlerts`: ours lists a bounded sample and
 * counts the rest; Alertmanager lists every alert). Bodies are never kept and never
 * turned into one big string (Alertmanager sends bodies of tens of MB): alerts are
 * counted by scanning the raw bytes for the `"fingerprint":` key each alert carries once.
 *
 * Each system posts to its own path (/ours, /am) so the records say who sent what.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookRecord {
  /** /ours or /am */
  path: string;
  /** Date.now() when the last byte of the body arrived */
  at: number;
  /** Date.now() when the request's headers arrived */
  startedAt: number;
  bytes: number;
  /** alerts listed in the body */
  listed: number;
  /** `truncatedAlerts` of the body (0 when absent) */
  truncated: number;
  /** `status` of the body: firing | resolved */
  status: string;
  /** listed alerts whose own status is "firing" / "resolved" */
  listedFiring: number;
  listedResolved: number;
  /** groupKey of the body (cut to 200 characters) */
  groupKey: string;
}

/** What a receiver would accept: bodies over it are counted as over the limit (still answered 200). */
export const RECEIVER_LIMIT_BYTES = 1024 * 1024;

const FP_KEY = Buffer.from('"fingerprint":');
const STATUS_FIRING = Buffer.from('"status":"firing"');
const STATUS_RESOLVED = Buffer.from('"status":"resolved"');
/** the head of the body holds receiver/status; the tail (Go field order) groupKey and truncatedAlerts */
const HEAD_BYTES = 256;
const TAIL_BYTES = 4096;

export class WebhookReceiver {
  readonly records: WebhookRecord[] = [];
  private server: Server | null = null;
  private waiters = new Set<() => void>();
  url = '';

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const startedAt = Date.now();
      const path = (req.url ?? '/').split('?')[0]!;
      const counter = new PatternCounter([FP_KEY, STATUS_FIRING, STATUS_RESOLVED]);
      let bytes = 0;
      let head = Buffer.alloc(0);
      let tail = Buffer.alloc(0);
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        counter.feed(chunk);
        if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > TAIL_BYTES) tail = tail.subarray(tail.length - TAIL_BYTES);
      });
      req.on('end', () => {
        const at = Date.now();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        const headText = head.toString('utf8');
        const tailText = tail.toString('utf8');
        const [fps, firing, resolved] = counter.counts;
        // The body's own status is the first "status" (Alertmanager's and our field order:
        // receiver, status, alerts...); the alerts' statuses come after it.
        const bodyStatus = /"status":"(firing|resolved)"/.exec(headText)?.[1] ?? '?';
        const truncated = Number(/"truncatedAlerts":(\d+)/.exec(tailText)?.[1] ?? 0);
        const groupKey = (/"groupKey":"((?:[^"\\]|\\.)*)"/.exec(tailText)?.[1] ?? '').slice(0, 200);
        this.records.push({
          path,
          at,
          startedAt,
          bytes,
          listed: fps!,
          truncated,
          status: bodyStatus,
          listedFiring: firing! - (bodyStatus === 'firing' ? 1 : 0),
          listedResolved: resolved! - (bodyStatus === 'resolved' ? 1 : 0),
          groupKey,
        });
        for (const w of [...this.waiters]) w();
      });
      req.on('error', () => undefined);
    });
    server.keepAliveTimeout = 60_000;
    server.requestTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  for(path: string): WebhookRecord[] {
    return this.records.filter((r) => r.path === path);
  }

  /** Resolves with the first record of `path` arriving after `since` that satisfies `pred`, or null after `timeoutMs`. */
  waitFor(path: string, since: number, timeoutMs: number, pred: (r: WebhookRecord) => boolean = () => true): Promise<WebhookRecord | null> {
    const find = () => this.records.find((r) => r.path === path && r.at >= since && pred(r)) ?? null;
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const check = () => {
        const r = find();
        if (!r) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(null);
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Counts non-overlapping occurrences of a few byte patterns across chunk boundaries. */
export class PatternCounter {
  readonly counts: number[];
  private carry = Buffer.alloc(0);
  private readonly keep: number;

  constructor(private readonly patterns: readonly Buffer[]) {
    this.counts = patterns.map(() => 0);
    this.keep = Math.max(...patterns.map((p) => p.length)) - 1;
  }

  feed(chunk: Buffer): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    // only matches that end inside the new bytes: those wholly inside the carry were counted already
    const minEnd = this.carry.length;
    this.patterns.forEach((p, i) => {
      let from = Math.max(0, minEnd - p.length + 1);
      for (;;) {
        const at = buf.indexOf(p, from);
        if (at < 0) break;
        this.counts[i]!++;
        from = at + p.length;
      }
    });
    this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - this.keep)));
  }
}
