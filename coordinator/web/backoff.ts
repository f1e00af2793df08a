/**
 * Delay before the next attempt after `failures` consecutive failures: doubling from `baseMs`,
 * at most `maxMs`, with up to 20 % random slack so that many open pages do not all come back
 * to a restarted coordinator in the same millisecond.
 */
export function backoffDelay(failures: number, baseMs = 1000, maxMs = 15_000, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (1 - 0.2 * random()));
}
