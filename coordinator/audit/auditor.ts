import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { AuditRecord, AuditStore } from '../store/audit-store.js';
import { UnauthenticatedLimit } from './unauthenticated-limit.js';

/** The actor of the coordinator's own steps (restart job progress, maintenance ending). */
export const SYSTEM_ACTOR = 'system';

export type AuditInput = Omit<AuditRecord, 'at'>;

/**
 * Key names that may hold a credential or a receiver address. Callers never put such values
 * in a detail; this is the net under that rule, since an audit log is read by more people
 * than the config it would leak.
 */
const SECRET_KEY = /token|authorization|secret|password|url|webhook/i;
const MAX_DETAIL_STRING = 1024;
/** How long a begun row holds back the rows recorded after it; past this they are written without waiting. */
export const BEGIN_HOLD_MS = 60_000;

/**
 * Writes audit rows (coordinator/store/audit-store.ts) without making the audited call wait
 * for or fail on the audit write: a failed write is logged at error level. Rows are written
 * in the order `record` is called.
 */
export class Auditor {
  private chain: Promise<void> = Promise.resolve();
  private readonly unauthenticated: UnauthenticatedLimit;

  constructor(private readonly deps: { store: Pick<AuditStore, 'appendAudit'>; clock: Clock; logger: Logger; unauthenticated?: UnauthenticatedLimit }) {
    this.unauthenticated = deps.unauthenticated ?? new UnauthenticatedLimit();
  }

  record(input: AuditInput): void {
    const row = this.row(input, this.deps.clock.now());
    this.chain = this.chain.then(() => this.write(row));
  }

  /**
   * Takes the next place in the log for a call whose outcome is not known yet (an API
   * request): rows recorded meanwhile (the steps of the restart job it creates) are written
   * after it, so the log reads in causal order. The row is dated when the call began. The
   * place is held at most BEGIN_HOLD_MS.
   */
  begin(): (input: AuditInput) => void {
    const at = this.deps.clock.now();
    let release!: () => void;
    const finished = new Promise<void>((resolve) => (release = resolve));
    let row: AuditRecord | undefined;
    const hold = this.deps.clock.setTimeout(release, BEGIN_HOLD_MS);
    this.chain = this.chain.then(async () => {
      await finished;
      if (row) await this.write(row);
    });
    return (input) => {
      this.deps.clock.clearTimeout(hold);
      const admitted = this.admit(input, at);
      row = admitted && this.row(admitted, at);
      release();
      // finished after its place was given up: written wherever it now lands
      this.chain = this.chain.then(() => (row && !written.has(row) ? this.write(row) : undefined));
    };
  }

  /** The row to write for a finished call, or undefined when a 401 flood from its address is only counted. */
  private admit(input: AuditInput, at: number): AuditInput | undefined {
    if (input.outcome !== 'refused' || input.status !== 401) return input;
    const remote = input.remote ?? 'unknown';
    const admission = this.unauthenticated.admit(remote, at);
    if (!admission.record) {
      if (admission.firstUnrecorded) this.deps.logger.warn({ remote, action: input.action }, 'audit: more calls without a valid token from this address than are recorded one by one; counting them until its next recorded row');
      return undefined;
    }
    return admission.unrecordedBefore > 0 ? { ...input, detail: { ...input.detail, unrecordedBefore: admission.unrecordedBefore } } : input;
  }

  private row(input: AuditInput, at: number): AuditRecord {
    return { ...input, at, detail: scrub(input.detail) as Record<string, unknown> };
  }

  private async write(row: AuditRecord): Promise<void> {
    if (written.has(row)) return;
    written.add(row);
    try {
      await this.deps.store.appendAudit(row);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, action: row.action, actor: row.actor, target: row.target }, 'audit log write failed');
    }
  }

  /** Resolves once every row recorded so far is written (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }
}

/** Rows already written: a begun row is written once, in its place or after it. */
const written = new WeakSet<AuditRecord>();

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_DETAIL_STRING ? `${value.slice(0, MAX_DETAIL_STRING)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 3) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : scrub(v, depth + 1);
  return out;
}
