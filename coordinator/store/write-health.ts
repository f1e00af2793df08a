/** Whether the store can take writes now; `error` says why not. */
export interface StoreHealth {
  ok: boolean;
  error?: string;
}

/**
 * SQLite result codes that say the database cannot be written (full disk, read-only file,
 * I/O error, lock held elsewhere), as opposed to a statement or a constraint at fault.
 */
const STORAGE_ERROR = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PERM|BUSY)/;
/**
 * A failed write keeps the store reported unwritable this long: a one-row probe may still fit
 * where an agent's batch does not (a full disk with room left in the WAL file), and the
 * answer must not flap between two failing batches.
 */
export const WRITE_FAILURE_MEMORY_MS = 60_000;
/** /healthz is public and may be polled hard; the probe writes at most this often. */
export const WRITE_PROBE_INTERVAL_MS = 5_000;

/**
 * Writability as /healthz and /readyz report it: the last storage error any store method
 * hit, plus a tiny real write (`probe`), rate-limited. A real write rather than
 * `BEGIN IMMEDIATE; ROLLBACK`: taking the write lock touches no file, so it passes on a
 * full disk; one upserted row costs one WAL frame and fails there like the agents' batches.
 */
export class WriteHealth {
  private failure: { error: string; at: number } | undefined;
  private probed: { error: string | undefined; at: number } | undefined;

  constructor(
    private readonly probe: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remembers `err` when it is a storage error; anything else says nothing about the disk. */
  record(err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && STORAGE_ERROR.test(code)) this.failure = { error: describe(err), at: this.now() };
  }

  check(): StoreHealth {
    const now = this.now();
    if (this.probed === undefined || now - this.probed.at >= WRITE_PROBE_INTERVAL_MS) this.probed = { error: this.runProbe(), at: now };
    const recent = this.failure !== undefined && now - this.failure.at < WRITE_FAILURE_MEMORY_MS ? this.failure.error : undefined;
    const error = this.probed.error ?? recent;
    return error === undefined ? { ok: true } : { ok: false, error };
  }

  /** `target` whose async methods report their rejections here (and still reject). */
  watch<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (t, key) => {
        const value = Reflect.get(t, key, t) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(t, args);
          if (result instanceof Promise) result.catch((err: unknown) => this.record(err));
          return result;
        };
      },
    });
  }

  private runProbe(): string | undefined {
    try {
      this.probe();
      return undefined;
    } catch (err) {
      this.record(err);
      return describe(err);
    }
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = (err as Error)?.message ?? String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
