import WebSocket from 'ws';
import { FEED_BEARER_PREFIX, FEED_SUBPROTOCOL, FEED_WS_PATH } from '../shared/feed/messages.js';
import { FeedModel } from '../shared/feed/model.js';
import { parseFeedMessage } from '../shared/feed/parse.js';
import type { ClientCertificate } from './client-certificate.js';

/** Reconnect backoff: doubles from the first to the last, reset by a snapshot. */
const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000] as const;
const HANDSHAKE_TIMEOUT_MS = 5000;

export interface WatchOptions {
  base: URL;
  token: string | undefined;
  /** the table (or JSON) for a fleet */
  render: (fleet: ReturnType<FeedModel['fleet']>) => string;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  signal: AbortSignal;
  now?: () => number;
  /** presented to a coordinator with tls.clientCerts */
  clientCertificate?: ClientCertificate;
}

/**
 * `llm-health status --watch`: follows the coordinator's live feed (docs/feed.md) and draws
 * a frame whenever the fleet changed (lastSeen alone does not count). On a terminal each
 * frame replaces the last; otherwise frames are appended, each under a timestamped rule, so
 * a log of them reads in order. Reconnects with backoff until the signal aborts.
 */
export async function watchFeed(o: WatchOptions): Promise<void> {
  const frames = frameWriter(o);
  let attempt = 0;
  while (!o.signal.aborted) {
    const outcome = await followOnce(o, frames, () => (attempt = 0));
    if (o.signal.aborted) break;
    frames.problem(`${outcome} (retrying)`);
    const wait = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]!;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      o.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}

interface Frames {
  draw(model: FeedModel): void;
  problem(message: string): void;
}

function frameWriter(o: WatchOptions): Frames {
  let last: string | undefined;
  const write = (body: string) => {
    const head = o.out.isTTY ? '\x1b[H\x1b[2J' : `--- ${new Date((o.now ?? Date.now)()).toISOString()} ---\n`;
    o.out.write(`${head}${body}${o.out.isTTY ? '' : '\n'}`);
  };
  return {
    draw(model) {
      const fleet = model.fleet();
      const key = JSON.stringify(fleet.hosts.map((h) => ({ ...h, lastSeen: null })));
      if (key === last) return;
      last = key;
      write(o.render(fleet));
    },
    problem(message) {
      const key = `error:${message}`;
      if (key === last) return;
      last = key;
      write(`llm-health status: ${message}\n`);
    },
  };
}

/** One connection: resolves with why it ended. One abort listener per connection, removed at the end. */
function followOnce(o: WatchOptions, frames: Frames, onSnapshot: () => void): Promise<string> {
  const url = new URL(FEED_WS_PATH, o.base);
  url.protocol = o.base.protocol === 'https:' ? 'wss:' : 'ws:';
  const protocols = [FEED_SUBPROTOCOL, ...(o.token ? [`${FEED_BEARER_PREFIX}${o.token}`] : [])];
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...o.clientCertificate });
    const model = new FeedModel();
    let why = `the feed at ${o.base.origin} closed`;
    const onAbort = () => ws.close(1000);
    o.signal.addEventListener('abort', onAbort, { once: true });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      why = res.statusCode === 401 ? `the coordinator at ${o.base.origin} wants a viewer token (--token or LLM_HEALTH_TOKEN)${o.token ? '; the one given was refused' : ''}` : `the coordinator at ${o.base.origin} refused the feed: ${res.statusCode}`;
      ws.terminate();
    });
    ws.on('error', (err) => (why = `cannot reach the coordinator at ${o.base.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    ws.on('message', (data) => {
      const parsed = parseFeedMessage(data.toString());
      if (!parsed.ok || model.apply(parsed.msg) === 'gap') {
        why = parsed.ok ? 'a feed message was lost' : `the coordinator sent an invalid feed message: ${parsed.reason}`;
        ws.terminate();
        return;
      }
      if (parsed.msg.type === 'snapshot') onSnapshot();
      if (parsed.msg.type !== 'heartbeat') frames.draw(model);
    });
    ws.on('close', () => {
      o.signal.removeEventListener('abort', onAbort);
      resolve(why);
    });
  });
}
