import WebSocket from 'ws';
import { FEED_BEARER_PREFIX, FEED_SUBPROTOCOL, FEED_WS_PATH, type FeedServerMessage } from '../../shared/feed/messages.js';
import { FeedModel } from '../../shared/feed/model.js';
import { parseFeedMessage } from '../../shared/feed/parse.js';

export interface FeedClientOptions {
  /** a viewer token, sent as the subprotocol bearer.<token> */
  token?: string;
  /** extra request headers (Cookie, Origin, Host) */
  headers?: Record<string, string>;
  /** keep every message received (tests); default false */
  keep?: boolean;
  /** told of every valid message, with performance.now() at receipt */
  onMessage?: (msg: FeedServerMessage, receivedAt: number) => void;
  timeoutMs?: number;
}

/**
 * A feed client over a real WebSocket for tests and benchmarks: validates every message
 * against the schemas, keeps a FeedModel, counts gaps (a delta out of order) and invalid
 * messages, both of which a correct coordinator never produces.
 */
export class FeedClient {
  readonly model = new FeedModel();
  readonly messages: FeedServerMessage[] = [];
  readonly invalid: string[] = [];
  gaps = 0;
  snapshots = 0;
  deltas = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    private readonly opts: FeedClientOptions,
  ) {
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => (resolve({ code, reason: reason.toString() }), this.wake())));
  }

  /** `base` is the coordinator's http(s):// URL. */
  static connect(base: string, opts: FeedClientOptions = {}): Promise<FeedClient> {
    const url = `${base.replace(/^http/, 'ws')}${FEED_WS_PATH}`;
    const protocols = [FEED_SUBPROTOCOL, ...(opts.token !== undefined ? [`${FEED_BEARER_PREFIX}${opts.token}`] : [])];
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers: opts.headers ?? {}, handshakeTimeout: opts.timeoutMs ?? 5000 });
      const client = new FeedClient(ws, opts);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(Object.assign(new Error(`feed upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', reject);
    });
  }

  /** Stops reading from the socket (a stalled dashboard), or starts again. */
  pause(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  /** Resolves once `cond` holds after some message; rejects after `timeoutMs`. */
  async waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`feed client: no ${what} within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  close(): void {
    this.ws.terminate();
  }

  private onFrame(text: string): void {
    const at = performance.now();
    const parsed = parseFeedMessage(text);
    if (!parsed.ok) {
      this.invalid.push(parsed.reason);
      return;
    }
    const msg = parsed.msg;
    if (msg.type === 'snapshot') this.snapshots++;
    if (msg.type === 'delta') this.deltas++;
    if (this.model.apply(msg) === 'gap') this.gaps++;
    if (this.opts.keep) this.messages.push(msg);
    this.opts.onMessage?.(msg, at);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
