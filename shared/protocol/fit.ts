import { Limits } from './constants.js';
import type { Event } from './messages.js';
import { eventProblem } from './parse.js';

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
