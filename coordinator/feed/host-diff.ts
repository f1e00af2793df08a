import type { FeedChange, FeedHost } from '../../shared/feed/messages.js';
import { hostViewAt, isOffline, isRetired } from '../fleet/view.js';
import type { FleetState } from '../fleet/types.js';

/**
 * The hosts as the feed last told its clients, and the changes that bring them up to the
 * live fleet. Snapshots are built from this copy, never from the live fleet: a snapshot at
 * seq N is then exactly "everything after delta N", so a client that applies later deltas
 * on it cannot miss a change that happened and reverted between the two.
 */
export class HostDiff {
  private readonly sent = new Map<string, { host: FeedHost; key: string }>();
  /** what the time-dependent parts of the view (offline, retired) were when last sent */
  private readonly flags = new Map<string, string>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly agentLostAfter: number,
    private readonly retireAfter: number,
    /** a host's maintenance window (kept beside the fleet state; it also ends with time) */
    private readonly maintenanceOf: (id: string) => FeedHost['maintenance'] = () => null,
  ) {}

  markDirty(id: string): void {
    this.dirty.add(id);
  }

  get pending(): boolean {
    return this.dirty.size > 0;
  }

  /** Marks hosts whose offline or retired flag flipped with time alone (no input told the tracker). */
  recheck(state: FleetState, now: number): void {
    for (const h of state.hosts.values()) {
      if (this.flags.get(h.id) !== this.flagsOf(state, h.id, now)) this.dirty.add(h.id);
    }
  }

  private flagsOf(state: FleetState, id: string, now: number): string {
    const h = state.hosts.get(id)!;
    return `${isOffline(h, now, this.agentLostAfter) ? 1 : 0}${isRetired(h, now, this.retireAfter) ? 1 : 0}${JSON.stringify(this.maintenanceOf(id))}`;
  }

  /** The changes since the last call, in host id order; updates what counts as sent. */
  collect(state: FleetState, now: number, out: FeedChange[]): void {
    for (const id of [...this.dirty].sort()) {
      const entry = state.hosts.get(id);
      const before = this.sent.get(id);
      if (!entry) {
        this.flags.delete(id);
        if (before) {
          this.sent.delete(id);
          out.push({ kind: 'hostRemoved', id });
        }
        continue;
      }
      this.flags.set(id, this.flagsOf(state, id, now));
      const host: FeedHost = hostViewAt(entry, now, this.agentLostAfter, this.retireAfter, this.maintenanceOf(id));
      const key = JSON.stringify({ ...host, lastSeen: null });
      if (before && before.key === key) {
        if (before.host.lastSeen === host.lastSeen) continue;
        this.sent.set(id, { host: { ...before.host, lastSeen: host.lastSeen }, key });
        out.push({ kind: 'hostSeen', id, lastSeen: host.lastSeen });
        continue;
      }
      this.sent.set(id, { host, key });
      out.push({ kind: 'host', host });
    }
    this.dirty.clear();
  }

  /** The hosts as last sent, sorted by id as GET /api/v1/fleet sorts them. */
  hosts(): FeedHost[] {
    return [...this.sent.values()].map((s) => s.host).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}


