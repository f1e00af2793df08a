import type { Alert, Host, Silence } from './api.js';

/**
 * The feed's messages (docs/feed.md) as the page reads them, written from the documentation
 * like api.ts: the page is compiled apart from the coordinator and cannot import its types.
 */
export type FeedMessage =
  | { type: 'snapshot'; seq: number; fleet: { hosts: Host[] }; alerts: Alert[]; silences: Silence[] }
  | { type: 'delta'; seq: number; changes: FeedChange[] }
  | { type: 'heartbeat'; seq?: number };

type FeedChange =
  | { kind: 'host'; host: Host }
  | { kind: 'hostSeen'; id: string; lastSeen: string | null }
  | { kind: 'hostRemoved'; id: string }
  | { kind: 'alert'; alert: Alert }
  | { kind: 'alertRemoved'; fingerprint: string }
  | { kind: 'silence'; silence: Silence }
  | { kind: 'silenceRemoved'; id: string };

/**
 * What the feed has said so far, kept as the page's copy of the fleet, alerts and silences.
 * `apply` answers `gap` when a delta does not follow the last seq: a message was lost and
 * only a reconnection (a fresh snapshot) can put the copy right again.
 */
export class FeedState {
  private hosts = new Map<string, Host>();
  private alerts = new Map<string, Alert>();
  private silences = new Map<string, Silence>();
  private seq: number | undefined;

  apply(msg: FeedMessage): 'changed' | 'same' | 'gap' {
    if (msg.type === 'heartbeat') return 'same';
    if (msg.type === 'snapshot') {
      this.hosts = new Map(msg.fleet.hosts.map((x) => [x.id, x]));
      this.alerts = new Map(msg.alerts.map((x) => [x.fingerprint, x]));
      this.silences = new Map(msg.silences.map((x) => [x.id, x]));
      this.seq = msg.seq;
      return 'changed';
    }
    if (this.seq === undefined || msg.seq !== this.seq + 1) return 'gap';
    this.seq = msg.seq;
    for (const c of msg.changes) this.change(c);
    return 'changed';
  }

  private change(c: FeedChange): void {
    if (c.kind === 'host') this.hosts.set(c.host.id, c.host);
    else if (c.kind === 'hostRemoved') this.hosts.delete(c.id);
    else if (c.kind === 'alert') this.alerts.set(c.alert.fingerprint, c.alert);
    else if (c.kind === 'alertRemoved') this.alerts.delete(c.fingerprint);
    else if (c.kind === 'silence') this.silences.set(c.silence.id, c.silence);
    else if (c.kind === 'silenceRemoved') this.silences.delete(c.id);
    else {
      const host = this.hosts.get(c.id);
      if (host) this.hosts.set(c.id, { ...host, lastSeen: c.lastSeen });
    }
  }

  /** In the read API's order: hosts by id, alerts and silences oldest first. */
  view(): { hosts: Host[]; alerts: Alert[]; silences: Silence[] } {
    return {
      hosts: [...this.hosts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      alerts: [...this.alerts.values()].sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint)),
      silences: [...this.silences.values()].sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id)),
    };
  }
}
