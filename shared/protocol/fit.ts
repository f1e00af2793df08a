import { Limits, PROTOCOL_VERSION } from './constants.js';
import { describeAjvError } from './describe-error.js';
import { agentMessageValidator } from './parse.js';
import type { Event } from './messages.js';

/** null when `event` would pass the coordinator's validation inside an `events` message. */
export function eventProblem(event: unknown): string | null {
  const validate = agentMessageValidator('events');
  if (validate({ type: 'events', v: PROTOCOL_VERSION, events: [event] })) return null;
  return describeAjvError(validate.errors?.[0]);
}

/**
 * Makes an event fit the wire limits before it is numbered and spooled. An event the
 * coordinator would reject would otherwise be replayed and rejected forever, stalling every
 * event behind it; a trimmed event loses detail, never the event.
 */
export function fitEvent<T extends Event>(event: T): T {
  // what travels is the JSON form: undefined properties vanish, dates become strings
  let e = JSON.parse(safeJson(event)) as T;
  if (e.reason.length > Limits.maxReasonLength) e = { ...e, reason: `${e.reason.slice(0, Limits.maxReasonLength - 1)}…` };
  const problem = eventProblem(e);
  if (problem === null) return e;
  const { data, ...rest } = e;
  const summary = safeJson(data).slice(0, Limits.maxDataStringLength - 64);
  const trimmed = { ...rest, data: { trimmed: `data exceeded protocol limits (${problem.slice(0, 200)})`, summary } } as unknown as T;
  return eventProblem(trimmed) === null ? trimmed : ({ ...rest } as T);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}
