import { ApiError, requestJson } from './api.js';
import { backoffDelay } from './backoff.js';
import { EventsFollower } from './events-follower.js';
import { FeedState, type FeedMessage } from './feed-state.js';
import type { LinkState, LiveListener, LiveSource } from './live.js';
import { linkFailure, PollingSource } from './poll-source.js';

const FEED_PATH = '/api/v1/feed';
const FEED_SUBPROTOCOL = 'llm-health.v1';
/** Events are not in the feed (docs/feed.md): they are still fetched, this often. */
export const FEED_EVENTS_MS = 3000;
/** A socket that neither opens nor fails (a black-holed coordinator) is given up after this. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * The coordinator sends a heartbeat every `fleet.heartbeatInterval` (10 s by default): this
 * long without any message means the link is dead even if the socket has not noticed.
 */
const SILENCE_LIMIT_MS = 35_000;

/**
 * LiveSource over the feed WebSocket: the snapshot replaces the page's fleet, alerts and
 * silences, each delta updates them, so a state that lasts a few hundred milliseconds still
 * reaches the page. A lost link reconnects with backoff. A browser is never told why a
 * WebSocket was refused, so after a connection that never opened the page asks
 * `GET /api/v1/feed`: `404`/`400` mean a coordinator without the feed, and only then the page
 * falls back to polling for good.
 */
export class FeedSource implements LiveSource {
  private listener: LiveListener | undefined;
  private ws: WebSocket | undefined;
  private readonly state = new FeedState();
  private readonly events = new EventsFollower();
  private polling: LiveSource | undefined;
  private running = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private eventsTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;

  start(listener: LiveListener): void {
    this.listener = listener;
    this.running = true;
    listener.link({ kind: 'connecting' });
    this.connect();
    this.scheduleEvents(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.eventsTimer);
    clearTimeout(this.watchdog);
    this.ws?.close();
    this.ws = undefined;
    this.polling?.stop();
  }

  /** The feed pushes silence changes by itself; events are the only thing to fetch now. */
  refresh(): void {
    if (this.polling) this.polling.refresh();
    else this.scheduleEvents(0);
  }

  private connect(): void {
    const url = new URL(FEED_PATH, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // no token: the page's origin and the login cookie authorize it (docs/feed.md)
    const ws = new WebSocket(url, [FEED_SUBPROTOCOL]);
    this.ws = ws;
    let opened = false;
    this.arm(ws, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws !== ws) return;
      this.arm(ws, SILENCE_LIMIT_MS);
      this.receive(ws, e.data);
    };
    // an `error` is always followed by `close`: one place handles both
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.watchdog);
      void this.lost(opened);
    };
  }

  private arm(ws: WebSocket, ms: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => ws.close(), ms);
  }

  private receive(ws: WebSocket, data: unknown): void {
    let msg: FeedMessage;
    try {
      msg = JSON.parse(String(data)) as FeedMessage;
    } catch {
      ws.close();
      return;
    }
    const outcome = this.state.apply(msg);
    // a lost delta: the copy is wrong until a fresh snapshot, which a new connection brings
    if (outcome === 'gap') return ws.close();
    if (outcome === 'same') return;
    this.failures = 0;
    const { hosts, alerts, silences } = this.state.view();
    this.listener?.data({ fleet: { hosts }, alerts, silences });
    this.listener?.link({ kind: 'live', at: Date.now(), source: 'feed' });
  }

  private async lost(opened: boolean): Promise<void> {
    if (!this.running) return;
    this.failures++;
    let state: LinkState | undefined;
    if (!opened) {
      const verdict = await probeFeed();
      if (!this.running) return;
      if (verdict === 'absent') return this.fallBack();
      if (verdict instanceof Error) state = linkFailure(verdict, this.failures, 0, 'feed');
    }
    const delay = backoffDelay(this.failures);
    if (state?.kind !== 'login') state = { kind: 'retrying', error: opened ? 'connection lost' : state?.kind === 'retrying' ? state.error : 'connection refused', retryAt: Date.now() + delay, failures: this.failures, source: 'feed' };
    this.listener?.link(state);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private fallBack(): void {
    clearTimeout(this.eventsTimer);
    this.polling = new PollingSource(undefined, this.events);
    this.polling.start(this.listener!);
  }

  private scheduleEvents(ms: number): void {
    clearTimeout(this.eventsTimer);
    if (!this.running || this.polling) return;
    this.eventsTimer = setTimeout(() => void this.fetchEvents(), ms);
  }

  private async fetchEvents(): Promise<void> {
    try {
      const events = await this.events.next();
      if (this.running && !this.polling && events.length) this.listener?.data({ events });
    } catch {
      // the link indicator follows the feed; events simply come at the next turn
    }
    this.scheduleEvents(FEED_EVENTS_MS);
  }
}

/** Why the feed would not open, as far as a plain GET can tell: see coordinator/http/feed-probe.ts. */
async function probeFeed(): Promise<'present' | 'absent' | Error> {
  try {
    await requestJson(FEED_PATH);
    return 'present';
  } catch (err) {
    if (err instanceof ApiError && err.status === 426) return 'present';
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) return 'absent';
    return err instanceof Error ? err : new Error(String(err));
  }
}
