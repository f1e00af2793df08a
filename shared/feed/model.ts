import type { FeedAlert, FeedHost, FeedServerMessage, FeedSilence } from './messages.js';

/**
 * A client's copy of what the feed describes: a snapshot replaces it, each delta changes
 * it. `apply` says `gap` when a delta does not follow the last seq (a lost message: the
 * client should reconnect for a fresh snapshot) and leaves the copy as it was.
 */
export class FeedModel {
  private readonly hosts = new Map<string, FeedHost>();
  private readonly alertMap = new Map<string, FeedAlert>();
  private readonly silenceMap = new Map<string, FeedSilence>();
  private lastSeq: number | undefined;

  get seq(): number | undefined {
    return this.lastSeq;
  }

  apply(msg: FeedServerMessage): 'ok' | 'gap' {
    if (msg.type === 'heartbeat') return 'ok';
    if (msg.type === 'snapshot') {
      this.hosts.clear();
      this.alertMap.clear();
      this.silenceMap.clear();
      for (const h of msg.fleet.hosts) this.hosts.set(h.id, h);
      for (const a of msg.alerts) this.alertMap.set(a.fingerprint, a);
      for (const s of msg.silences) this.silenceMap.set(s.id, s);
      this.lastSeq = msg.seq;
      return 'ok';
    }
    if (this.lastSeq === undefined || msg.seq !== this.lastSeq + 1) return 'gap';
    this.lastSeq = msg.seq;
    for (const c of msg.changes) {
      switch (c.kind) {
        case 'host':
          this.hosts.set(c.host.id, c.host);
          break;
        case 'hostSeen': {
          const h = this.hosts.get(c.id);
          if (h) this.hosts.set(c.id, { ...h, lastSeen: c.lastSeen });
          break;
        }
        case 'hostRemoved':
          this.hosts.delete(c.id);
          break;
        case 'alert':
          this.alertMap.set(c.alert.fingerprint, c.alert);
          break;
        case 'alertRemoved':
          this.alertMap.delete(c.fingerprint);
          break;
        case 'silence':
          this.silenceMap.set(c.silence.id, c.silence);
          break;
        case 'silenceRemoved':
          this.silenceMap.delete(c.id);
          break;
      }
    }
    return 'ok';
  }

  /** As GET /api/v1/fleet: hosts by id. */
  fleet(): { hosts: FeedHost[] } {
    return { hosts: [...this.hosts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  }

  /** As GET /api/v1/alerts: oldest first. */
  alerts(): FeedAlert[] {
    return [...this.alertMap.values()].sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint));
  }

  silences(): FeedSilence[] {
    return [...this.silenceMap.values()].sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id));
  }
}
