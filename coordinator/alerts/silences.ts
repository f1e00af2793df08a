import { matches } from './matchers.js';
import type { Labels, Silence } from './types.js';

/**
 * Silences as pure functions of (silences, now). A silence is active from `startsAt`
 * (inclusive) to `endsAt` (exclusive); one whose start is still ahead is a maintenance
 * window that starts muting by itself when its time comes. No timers: callers pass the
 * "now" of the flush that asks.
 */

export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Silence, now: number): SilenceState {
  if (now < s.startsAt) return 'pending';
  return now < s.endsAt ? 'active' : 'expired';
}

export function isActive(s: Silence, now: number): boolean {
  return s.startsAt <= now && now < s.endsAt;
}

/** The silences muting at `now`. Filter once per flush, then call silencedBy with the result. */
export function activeSilences(silences: readonly Silence[], now: number): Silence[] {
  return silences.filter((s) => isActive(s, now));
}

/** Ids of the active silences whose matchers all match the alert's labels, sorted. */
export function silencedBy(alert: { readonly labels: Labels }, silences: readonly Silence[], now: number): string[] {
  let ids: string[] | undefined;
  for (const s of silences) {
    if (!isActive(s, now) || !matches(s.matchers, alert.labels)) continue;
    (ids ??= []).push(s.id);
  }
  return ids ? ids.sort() : NONE;
}

/** The next time (> now) at which some silence starts or ends, or null. */
export function nextSilenceChange(silences: readonly Silence[], now: number): number | null {
  let next: number | null = null;
  for (const s of silences) {
    for (const t of [s.startsAt, s.endsAt]) if (t > now && (next === null || t < next)) next = t;
  }
  return next;
}

const NONE: string[] = [];
