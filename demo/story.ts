/**
 * The fleet's story as it happens: one readable line per event the coordinator stored
 * (detect → restart → recover), plus agents connecting and going away.
 *
 * The FleetTracker's listener says *when* something arrived; the store says *what*, in
 * order and exactly once (an event that changes no fleet state, like `agent_started`,
 * reaches the store but may not reach a listener).
 */
import type { FleetTracker } from '../coordinator/fleet/tracker.js';
import type { EventStore } from '../coordinator/store/event-store.js';
import type { Event } from '../shared/protocol/messages.js';

const POLL_MS = 1000;
/** re-read this far back so events that arrive late (replayed from a spool) are not missed */
const LOOKBACK_MS = 60_000;

export interface Story {
  /** prints whatever is stored but not printed yet */
  flush(): Promise<void>;
  stop(): void;
}

export interface StoryOptions {
  events: Pick<EventStore, 'listEvents'>;
  fleet: FleetTracker;
  print: (line: string) => void;
  /** events before this (epoch ms) are not told */
  since: number;
  color?: boolean;
}

export function tellStory(opts: StoryOptions): Story {
  const seen = new Map<string, number>();
  let cursor = opts.since;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  const paint = painter(opts.color ?? false);

  const read = async (): Promise<void> => {
    const events = await opts.events.listEvents({ since: Math.max(opts.since, cursor - LOOKBACK_MS), limit: 10_000 });
    for (const e of events) {
      const key = `${e.agentId}\0${e.bootId}\0${e.seq}`;
      if (seen.has(key)) continue;
      const at = Date.parse(e.at);
      seen.set(key, at);
      if (at > cursor) cursor = at;
      opts.print(formatEvent(e, paint));
    }
    for (const [k, at] of seen) if (at < cursor - 2 * LOOKBACK_MS) seen.delete(k);
  };
  const flush = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await read();
        } while (again && !stopped);
      } catch {
        // the store is closing; the next tick (if any) tries again
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const unsubscribe = opts.fleet.subscribe((input, _fleet, host, before) => {
    if (stopped) return;
    if (input.type === 'event') void flush();
    else if (input.type === 'hello') opts.print(`${clock(Date.now())}  ${pad(input.msg.agentId)}  ${paint('connected', 'agent connected')} (${input.msg.services.length} services, agent ${input.msg.agentVersion})`);
    else if (input.type === 'disconnected' && before?.connected) opts.print(`${clock(Date.now())}  ${pad(input.agentId)}  ${paint('down', 'agent disconnected')}`);
    else if (input.type === 'agentLost' && !before?.lost && host.lost) {
      opts.print(`${clock(Date.now())}  ${pad(input.agentId)}  ${paint('down', 'agent offline')} (not heard from for fleet.agentLostAfter): its services are unknown`);
    }
  });
  const timer = setInterval(() => void flush(), POLL_MS);
  return {
    flush,
    stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
    },
  };
}

type Paint = (state: string, text?: string) => string;

const COLOURS: Record<string, number> = {
  healthy: 32,
  degraded: 33,
  starting: 36,
  restarting: 36,
  unhealthy: 33,
  down: 31,
  gave_up: 31,
  unknown: 90,
  connected: 32,
  restart: 35,
  chaos: 35,
};

function painter(color: boolean): Paint {
  return (state, text = state) => {
    const c = COLOURS[state];
    return color && c ? `\x1b[${c}m${text}\x1b[0m` : text;
  };
}

/** `HH:MM:SS` in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Reasons can carry a whole HTTP body; the API has them in full. */
const MAX_REASON = 160;
function short(reason: string): string {
  const flat = reason.replace(/\s+/g, ' ');
  return flat.length > MAX_REASON ? `${flat.slice(0, MAX_REASON - 1)}…` : flat;
}

function pad(who: string): string {
  return who.padEnd(19);
}

/**
 * One line per event:
 *   12:00:01  gpu-b/llama-vision   healthy -> down: crashed: ... ; unit not running
 *   12:00:01  gpu-b/llama-vision   restart started (attempt 1): ...
 *   12:00:02  gpu-b/llama-vision   restart succeeded: systemctl restart ... (MainPID 1234)
 *   12:00:07  gpu-b/llama-vision   starting -> healthy: ...
 */
export function formatEvent(ev: Event, paint: Paint = (s, t = s) => t): string {
  const e = { ...ev, reason: short(ev.reason) };
  const who = pad(e.service ? `${e.agentId}/${e.service}` : e.agentId);
  const head = `${clock(Date.parse(e.at))}  ${who}  `;
  const data = (e.data ?? {}) as Record<string, unknown>;
  switch (e.type) {
    case 'state_changed':
      return `${head}${paint(e.from ?? 'unknown')} -> ${paint(e.to ?? 'unknown')}: ${e.reason}`;
    case 'restart_started': {
      const attempt = typeof data.attempt === 'number' ? ` (attempt ${data.attempt})` : '';
      return `${head}${paint('restart', `restart started${attempt}`)}: systemctl restart ${String(data.unit ?? '?')} — ${e.reason}`;
    }
    case 'restart_succeeded': {
      const props = (data.properties ?? {}) as Record<string, unknown>;
      const pid = typeof props.mainPid === 'number' && props.mainPid > 0 ? ` (new MainPID ${props.mainPid})` : '';
      return `${head}${paint('restart', 'restart succeeded')}: ${e.reason}${pid}`;
    }
    case 'restart_failed':
      return `${head}${paint('down', 'restart FAILED')}: ${e.reason}`;
    case 'gave_up':
      return `${head}${paint('gave_up', 'GAVE UP')} (flap protection): ${e.reason}`;
    case 'agent_started':
      return `${head}agent started: ${e.reason}`;
    case 'gap':
      return `${head}${paint('down', 'GAP')}: ${e.reason}`;
    default:
      return `${head}${e.type.replace(/_/g, ' ')}: ${e.reason}`;
  }
}
