import type { Alert, DesiredAlert } from './types.js';

/**
 * The alerts the coordinator knows, with their lifetimes. Each evaluation's desired set
 * goes in; what changed comes out, as new immutable Alert versions:
 *
 * - desired and not firing (new, or resolved before) → a new instance: startsAt = now;
 * - firing and still desired with other annotations → updatedAt = now;
 * - firing and no longer desired → resolved: endsAt = now.
 *
 * Resolved alerts stay for `resolvedRetention` (the dispatcher keeps its own reference
 * until it has told receivers, so dropping them here never loses a resolved notification)
 * and are then dropped. Memory per alert: one Map entry and one small object whose labels
 * and annotations are shared with the rule output.
 *
 * Desired alerts arrive in scopes (host ids from rules.ts): a scope whose array is the
 * same object as last time is skipped, so an evaluation costs O(scopes) plus the alerts of
 * the scopes that changed.
 */

export const DEFAULT_RESOLVED_RETENTION = 15 * 60_000;

export class ActiveAlerts {
  private readonly byFp = new Map<string, Alert>();
  private readonly scopes = new Map<string, readonly DesiredAlert[]>();
  /** resolved alerts in resolve order (endsAt never decreases), for pruning */
  private readonly resolvedQueue: { fp: string; endsAt: number }[] = [];
  private resolvedHead = 0;
  private firingCount = 0;

  constructor(private readonly opts: { resolvedRetention?: number } = {}) {}

  /**
   * Applies one evaluation: `desired` per scope (or a plain list, one scope). Scopes absent
   * from a map are gone: their alerts resolve. Returns the new versions, in order.
   */
  update(desired: ReadonlyMap<string, readonly DesiredAlert[]> | readonly DesiredAlert[], now: number): Alert[] {
    const scoped: ReadonlyMap<string, readonly DesiredAlert[]> = isList(desired) ? new Map([['', desired]]) : desired;
    const changes: Alert[] = [];
    for (const [scope, list] of scoped) {
      const prev = this.scopes.get(scope);
      if (prev === list) continue;
      for (const d of list) this.upsert(d, now, changes);
      if (prev && prev.length) {
        const fps = new Set<string>();
        for (const d of list) fps.add(d.fingerprint);
        for (const d of prev) if (!fps.has(d.fingerprint)) this.resolve(d.fingerprint, now, changes);
      }
      this.scopes.set(scope, list);
    }
    if (this.scopes.size > scoped.size) {
      for (const [scope, prev] of this.scopes) {
        if (scoped.has(scope)) continue;
        for (const d of prev) this.resolve(d.fingerprint, now, changes);
        this.scopes.delete(scope);
      }
    }
    return changes;
  }

  /** Drops resolved alerts older than the retention; returns how many. */
  prune(now: number): number {
    const retention = this.opts.resolvedRetention ?? DEFAULT_RESOLVED_RETENTION;
    let dropped = 0;
    const q = this.resolvedQueue;
    while (this.resolvedHead < q.length && q[this.resolvedHead]!.endsAt + retention <= now) {
      const { fp, endsAt } = q[this.resolvedHead++]!;
      const a = this.byFp.get(fp);
      // only if it is still that resolved instance (not fired again since)
      if (a && a.endsAt === endsAt) {
        this.byFp.delete(fp);
        dropped++;
      }
    }
    if (this.resolvedHead > 1024 && this.resolvedHead * 2 > q.length) {
      q.splice(0, this.resolvedHead);
      this.resolvedHead = 0;
    }
    return dropped;
  }

  get(fp: string): Alert | undefined {
    return this.byFp.get(fp);
  }

  /** Every alert held, firing and recently resolved. */
  values(): IterableIterator<Alert> {
    return this.byFp.values();
  }

  *firing(): IterableIterator<Alert> {
    for (const a of this.byFp.values()) if (a.endsAt === null) yield a;
  }

  get size(): number {
    return this.byFp.size;
  }

  get firingSize(): number {
    return this.firingCount;
  }

  private upsert(d: DesiredAlert, now: number, changes: Alert[]): void {
    const a = this.byFp.get(d.fingerprint);
    if (!a || a.endsAt !== null) {
      const fresh: Alert = { fingerprint: d.fingerprint, labels: d.labels, annotations: d.annotations, startsAt: now, endsAt: null, updatedAt: now };
      this.byFp.set(d.fingerprint, fresh);
      this.firingCount++;
      changes.push(fresh);
    } else if (a.annotations !== d.annotations && (a.annotations.summary !== d.annotations.summary || a.annotations.description !== d.annotations.description)) {
      const updated: Alert = { ...a, annotations: d.annotations, updatedAt: now };
      this.byFp.set(d.fingerprint, updated);
      changes.push(updated);
    }
  }

  private resolve(fp: string, now: number, changes: Alert[]): void {
    const a = this.byFp.get(fp);
    if (!a || a.endsAt !== null) return;
    const resolved: Alert = { ...a, endsAt: now, updatedAt: now };
    this.byFp.set(fp, resolved);
    this.firingCount--;
    this.resolvedQueue.push({ fp, endsAt: now });
    changes.push(resolved);
  }
}

function isList(x: ReadonlyMap<string, readonly DesiredAlert[]> | readonly DesiredAlert[]): x is readonly DesiredAlert[] {
  return Array.isArray(x);
}
