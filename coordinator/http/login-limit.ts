/**
 * Refused dashboard logins per remote address. Tokens are long and random, so guessing one
 * is hopeless anyway; the limit keeps a guesser from costing the coordinator work and the
 * log its readability. After `maxFailures` refusals inside `windowMs` the address waits
 * until the oldest of them leaves the window, whatever token it sends meanwhile.
 */
export interface LoginLimitOptions {
  maxFailures: number;
  windowMs: number;
  /** addresses remembered at most; the longest-idle one is forgotten first */
  maxAddresses: number;
}

export const LOGIN_LIMIT_DEFAULTS: LoginLimitOptions = { maxFailures: 10, windowMs: 5 * 60_000, maxAddresses: 10_000 };

export class LoginLimiter {
  /** refusal times per address, oldest first; the Map's order is least recently refused first */
  private readonly refusals = new Map<string, number[]>();

  constructor(
    private readonly now: () => number,
    private readonly options: LoginLimitOptions = LOGIN_LIMIT_DEFAULTS,
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  waitMs(address: string): number {
    const times = this.recent(address);
    if (times.length < this.options.maxFailures) return 0;
    return times[times.length - this.options.maxFailures]! + this.options.windowMs - this.now();
  }

  refused(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    // bounded either way: one address keeps only what can still block it
    if (times.length > this.options.maxFailures) times.splice(0, times.length - this.options.maxFailures);
    this.refusals.delete(address);
    this.refusals.set(address, times);
    if (this.refusals.size > this.options.maxAddresses) this.refusals.delete(this.refusals.keys().next().value!);
  }

  succeeded(address: string): void {
    this.refusals.delete(address);
  }

  private recent(address: string): number[] {
    const since = this.now() - this.options.windowMs;
    const times = (this.refusals.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.refusals.delete(address);
    return times;
  }
}
