import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { ServiceState } from '../../shared/protocol/constants.js';
import type { FleetTracker } from '../fleet/tracker.js';
import type { FleetInput, HostEntry } from '../fleet/types.js';
import { isOffline } from '../fleet/view.js';
import { BUCKET_MS, type HistoryBucket, type HistoryIncident, type HistoryStore } from '../store/history-store.js';
import { addProbe, addStateTime, emptyBucket, isEmpty } from './bucket.js';
import { observeIncident, type IncidentTrack } from './incidents.js';

export interface HistoryRecorderDeps {
  fleet: Pick<FleetTracker, 'state' | 'subscribe'>;
  clock: Clock;
  store: Pick<HistoryStore, 'addBuckets' | 'putIncident' | 'openIncidents'>;
  agentLostAfter: number;
  logger: Pick<Logger, 'error'>;
}

interface Track extends IncidentTrack {
  host: string;
  service: string;
  /** the state as GET /api/v1/fleet shows it (unknown while the agent is offline) */
  state: ServiceState;
  /** time is accounted up to here */
  since: number;
  bucket: HistoryBucket;
}

/** A clock jump (or a long stall) larger than this is not filled minute by minute. */
const MAX_FILL_MINUTES = 24 * 60;

/**
 * Keeps the history as the coordinator sees it live, on its own clock: time in each state
 * as the fleet view shows it, probes in the minute they were received. Finished minutes
 * go to the store on `tick` (every few seconds); the minute in progress stays here, is
 * added to answers by `current`, and is stored as it stands by `flush` at shutdown. What
 * happened while the coordinator was not running, or was replayed by an agent later, is not
 * history: it counts as not observed.
 */
export class HistoryRecorder {
  /** host → service → track */
  private readonly tracks = new Map<string, Map<string, Track>>();
  private finished: HistoryBucket[] = [];
  /** incidents an earlier run left open (by seriesKey), until their service is first observed */
  private readonly resumable = new Map<string, HistoryIncident>();
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: HistoryRecorderDeps) {
    const now = deps.clock.now();
    for (const host of deps.fleet.state.hosts.values()) this.observeHost(host, now);
    this.unsubscribe = deps.fleet.subscribe((input, _fleet, host) => this.onInput(input, host));
  }

  /**
   * At start, before agents report: takes over the incidents an earlier run left open, so
   * each still ends (when its service is next seen up, the first moment this run knows of)
   * instead of staying open for ever beside a new one. A service's track takes its incident
   * when the track is created.
   */
  async resume(): Promise<void> {
    for (const incident of await this.deps.store.openIncidents()) this.resumable.set(seriesKey(incident.host, incident.service), incident);
  }

  /** Accounts time up to now, notices agents gone offline, stores finished minutes. */
  async tick(): Promise<void> {
    await this.store(false);
  }

  /**
   * At shutdown: stores the minutes in progress as they stand too. The store adds buckets of
   * the same minute together, so the next run's part of that minute is added to this one.
   */
  async flush(): Promise<void> {
    await this.store(true);
  }

  private async store(withCurrent: boolean): Promise<void> {
    const now = this.deps.clock.now();
    for (const host of this.deps.fleet.state.hosts.values()) this.observeHost(host, now);
    for (const services of this.tracks.values()) {
      for (const t of services.values()) {
        this.advance(t, now);
        if (!withCurrent) continue;
        this.finished.push(t.bucket);
        t.bucket = emptyBucket(t.host, t.service, now);
      }
    }
    const batch = this.finished;
    this.finished = [];
    await this.deps.store.addBuckets(batch.filter((b) => !isEmpty(b)));
  }

  /** The minute in progress for one service, accounted up to now; undefined when untracked. */
  current(host: string, service: string): HistoryBucket | undefined {
    const t = this.tracks.get(host)?.get(service);
    if (!t) return undefined;
    this.advance(t, this.deps.clock.now());
    return structuredClone(t.bucket);
  }

  stop(): void {
    this.unsubscribe();
  }

  private onInput(input: FleetInput, host: HostEntry): void {
    const now = this.deps.clock.now();
    this.observeHost(host, now);
    if (input.type !== 'probes') return;
    for (const r of input.msg.results) {
      const t = this.tracks.get(host.id)?.get(r.service);
      if (t) addProbe(t.bucket, r.ok, r.latencyMs);
    }
  }

  private observeHost(host: HostEntry, now: number): void {
    const offline = isOffline(host, now, this.deps.agentLostAfter);
    let tracks = this.tracks.get(host.id);
    if (!tracks) this.tracks.set(host.id, (tracks = new Map()));
    for (const s of host.services) {
      const state: ServiceState = offline ? 'unknown' : s.state;
      let t = tracks.get(s.name);
      if (!t) {
        t = { host: host.id, service: s.name, state, since: now, bucket: emptyBucket(host.id, s.name, now), lastObserved: null, open: null };
        tracks.set(s.name, t);
        const carried = this.resumable.get(seriesKey(host.id, s.name));
        if (carried) {
          this.resumable.delete(seriesKey(host.id, s.name));
          carryOver(t, carried, s.restarts.count);
        }
      } else if (t.state !== state) {
        // an agent went offline when its silence passed agentLostAfter, not when a tick noticed
        const switchAt = offline && host.lastSeen !== null ? Math.min(now, host.lastSeen + this.deps.agentLostAfter) : now;
        this.advance(t, switchAt);
        t.state = state;
      }
      const incident = observeIncident(t, host.id, s.name, state, s.restarts.count, now);
      if (incident) this.deps.store.putIncident(incident).catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'history: storing an incident failed'));
    }
    if (tracks.size === host.services.length) return;
    // a service removed from the agent's config, or a forgotten host: its last minute is kept
    const names = new Set(host.services.map((s) => s.name));
    for (const [name, t] of tracks) {
      if (names.has(name)) continue;
      this.advance(t, now);
      this.finished.push(t.bucket);
      tracks.delete(name);
    }
    if (tracks.size === 0) this.tracks.delete(host.id);
  }

  /** Adds the time since `t.since` to the current state, closing minutes on the way. */
  private advance(t: Track, now: number): void {
    if (now <= t.since) return;
    if (now - t.since > MAX_FILL_MINUTES * BUCKET_MS) {
      this.finished.push(t.bucket);
      t.since = now - (now % BUCKET_MS);
      t.bucket = emptyBucket(t.host, t.service, now);
    }
    while (t.since < now) {
      const end = t.bucket.minute + BUCKET_MS;
      const upto = Math.min(now, end);
      addStateTime(t.bucket, t.state, upto - t.since);
      t.since = upto;
      if (upto === end) {
        this.finished.push(t.bucket);
        t.bucket = emptyBucket(t.host, t.service, end);
      }
    }
  }
}

/** An open incident from an earlier run continues on this track; restarts keep adding to it. */
function carryOver(t: Track, incident: HistoryIncident, restartCount: number): void {
  t.open = { ...incident, restartsAtStart: restartCount - incident.restarts };
  t.lastObserved = incident.worst;
}

const seriesKey = (host: string, service: string): string => `${host}\n${service}`;
