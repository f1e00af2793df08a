import type { Event } from '../../shared/protocol/messages.js';

/** How far ahead of the coordinator's clock an event may be dated: clock skew, not a flood. */
export const MAX_EVENT_LEAD_MS = 5 * 60_000;
/** How far before its boot's `agent_started` an event may be dated: a clock stepped back. */
export const MAX_EVENT_LAG_MS = 24 * 3_600_000;

/** The time of a boot's `agent_started` (as stored), when the store knows it. */
export type BootStart = (bootId: string) => number | undefined;

/**
 * Event times come from the agent's clock and order nothing the agent could abuse, but they
 * are still shown and filtered on: an event dated outside [its boot's start − 1 day,
 * received + 5 min] is moved to the nearest bound and keeps the agent's time in
 * `originalAt`. A boot whose `agent_started` (seq 1) is neither in the batch nor stored has
 * only the upper bound. `originalAt` is the coordinator's to set: one an agent sent is dropped.
 */
export function fitEventTimes(events: readonly Event[], receivedAt: number, stored: BootStart): Event[] {
  const upper = receivedAt + MAX_EVENT_LEAD_MS;
  const starts = bootStartsIn(events, upper);
  const lowerOf = (bootId: string): number => {
    if (!starts.has(bootId)) starts.set(bootId, stored(bootId));
    const start = starts.get(bootId);
    return start === undefined ? -Infinity : start - MAX_EVENT_LAG_MS;
  };
  return events.map((e) => fitOne(e, lowerOf(e.bootId), upper, receivedAt));
}

/** Boot starts announced in the batch itself, already held to the upper bound. */
function bootStartsIn(events: readonly Event[], upper: number): Map<string, number | undefined> {
  const starts = new Map<string, number | undefined>();
  for (const e of events) {
    if (e.type !== 'agent_started' || e.seq !== 1) continue;
    const at = Date.parse(e.at);
    if (!Number.isNaN(at)) starts.set(e.bootId, Math.min(at, upper));
  }
  return starts;
}

function fitOne(e: Event, lower: number, upper: number, receivedAt: number): Event {
  const { originalAt: sentOriginal, ...sent } = e;
  const at = Date.parse(sent.at);
  if (at >= lower && at <= upper) return sentOriginal === undefined ? e : sent;
  // An unparseable time (a pattern-valid 30 February) is as good as none: the receive time.
  const fitted = Number.isNaN(at) ? receivedAt : Math.min(Math.max(at, lower), upper);
  return { ...sent, at: new Date(fitted).toISOString(), originalAt: sent.at };
}
