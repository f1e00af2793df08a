/**
 * Calls refused for want of a valid token (401) come from anyone who can reach the port, so
 * recording each one would let them fill the disk with audit rows. Per remote address, the
 * first `maxRows` of each window are recorded; the rest are counted, and the count rides on
 * that address's next recorded row (`detail.unrecordedBefore`). Token holders' calls, refused
 * or not, are always recorded.
 */
export interface UnauthenticatedLimitOptions {
  maxRows: number;
  windowMs: number;
  /** addresses tracked at most; the one tracked longest is dropped first */
  maxAddresses: number;
}

export const UNAUTHENTICATED_LIMIT_DEFAULTS: UnauthenticatedLimitOptions = { maxRows: 20, windowMs: 10 * 60_000, maxAddresses: 10_000 };

interface Window {
  startedAt: number;
  rows: number;
  unrecorded: number;
}

export type Admission = { record: false; firstUnrecorded: boolean } | { record: true; unrecordedBefore: number };

export class UnauthenticatedLimit {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: UnauthenticatedLimitOptions = UNAUTHENTICATED_LIMIT_DEFAULTS) {}

  /** Whether a 401 from `remote` at `now` gets its own row, and how many went unrecorded before it. */
  admit(remote: string, now: number): Admission {
    let w = this.windows.get(remote);
    let carried = 0;
    if (w && now - w.startedAt >= this.options.windowMs) {
      carried = w.unrecorded;
      w = undefined;
    }
    if (!w) {
      w = { startedAt: now, rows: 0, unrecorded: 0 };
      this.windows.delete(remote);
      this.windows.set(remote, w);
      if (this.windows.size > this.options.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    }
    if (w.rows < this.options.maxRows) {
      w.rows += 1;
      const unrecordedBefore = carried + w.unrecorded;
      w.unrecorded = 0;
      return { record: true, unrecordedBefore };
    }
    w.unrecorded += 1;
    return { record: false, firstUnrecorded: w.unrecorded === 1 };
  }
}
