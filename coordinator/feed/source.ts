import type { Clock } from '../../shared/clock.js';
import { FEED_VERSION, type FeedAlert, type FeedChange, type FeedSilence } from '../../shared/feed/messages.js';
import type { AlertStatusView, Silence } from '../alerts/types.js';
import type { FleetTracker } from '../fleet/tracker.js';
import { alertJson } from '../http/alerts-api.js';
import { silenceView } from '../http/silences-api.js';
import { HostDiff } from './host-diff.js';
import { KeyedDiff } from './keyed-diff.js';

export interface FeedSourceDeps {
  fleet: Pick<FleetTracker, 'state' | 'subscribe' | 'maintenanceOf'>;
  clock: Clock;
  agentLostAfter: number;
  retireAfter: number;
  /** as GET /api/v1/alerts: firing, suppressed and recently resolved */
  alerts: () => readonly AlertStatusView[];
  /** active and pending silences, as GET /api/v1/silences */
  silences: () => readonly Silence[];
  /** something changed: the hub schedules a flush */
  onDirty: () => void;
}

/** One message's worth of text and its seq. */
export interface FeedFrame {
  seq: number;
  text: string;
}

interface SilenceItem {
  silence: Silence;
  state: FeedSilence['state'];
}

/**
 * What the feed has told its clients so far, and the deltas that follow: the only place
 * seq numbers are issued. `collect` turns everything dirty into delta frames (each at most
 * `maxMessageBytes`, unless one change alone is larger); `snapshot` renders the sent state
 * at the current seq.
 */
export class FeedSource {
  private seq = 0;
  private readonly hosts: HostDiff;
  private readonly alerts = new KeyedDiff<AlertStatusView, FeedAlert>(
    (a) => a.alert.fingerprint,
    (a, b) => a.alert === b.alert && a.state === b.state && JSON.stringify(a.suppressedBy) === JSON.stringify(b.suppressedBy),
    (a) => alertJson(a),
  );
  private readonly silences: KeyedDiff<SilenceItem, FeedSilence>;
  private alertsDirty = true;
  private silencesDirty = true;
  private snapshotCache: FeedFrame | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: FeedSourceDeps) {
    this.hosts = new HostDiff(deps.agentLostAfter, deps.retireAfter, (id) => deps.fleet.maintenanceOf(id));
    this.silences = new KeyedDiff<SilenceItem, FeedSilence>(
      (s) => s.silence.id,
      (a, b) => a.silence === b.silence && a.state === b.state,
      (s) => silenceView(s.silence, this.deps.clock.now()),
    );
    for (const id of deps.fleet.state.hosts.keys()) this.hosts.markDirty(id);
    this.unsubscribe = deps.fleet.subscribe((_input, _fleet, host) => {
      this.hosts.markDirty(host.id);
      deps.onDirty();
    });
  }

  get currentSeq(): number {
    return this.seq;
  }

  get pending(): boolean {
    return this.hosts.pending || this.alertsDirty || this.silencesDirty;
  }

  alertsChanged(): void {
    this.alertsDirty = true;
    this.deps.onDirty();
  }

  silencesChanged(): void {
    this.silencesDirty = true;
    this.deps.onDirty();
  }

  /** Time alone changes offline/retired flags and silence states; run every second or so. */
  recheck(): void {
    this.hosts.recheck(this.deps.fleet.state, this.deps.clock.now());
    this.silencesDirty = true;
  }

  /** Everything changed since the last call, as delta frames with consecutive seqs. */
  collect(maxMessageBytes: number): FeedFrame[] {
    const changes: FeedChange[] = [];
    const now = this.deps.clock.now();
    this.hosts.collect(this.deps.fleet.state, now, changes);
    if (this.alertsDirty) {
      this.alertsDirty = false;
      const { upserted, removed } = this.alerts.update(this.deps.alerts());
      for (const alert of upserted) changes.push({ kind: 'alert', alert });
      for (const fingerprint of removed) changes.push({ kind: 'alertRemoved', fingerprint });
    }
    if (this.silencesDirty) {
      this.silencesDirty = false;
      const items = this.deps.silences().map((silence) => ({ silence, state: silenceView(silence, now).state }));
      const { upserted, removed } = this.silences.update(items);
      for (const silence of upserted) changes.push({ kind: 'silence', silence });
      for (const id of removed) changes.push({ kind: 'silenceRemoved', id });
    }
    return this.pack(changes, new Date(now).toISOString(), maxMessageBytes);
  }

  /** The sent state at the current seq, rendered once per seq. */
  snapshot(): FeedFrame {
    if (this.snapshotCache?.seq === this.seq) return this.snapshotCache;
    const alerts = this.alerts.values().sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint));
    const silences = this.silences.values().sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id));
    const body = { type: 'snapshot', v: FEED_VERSION, seq: this.seq, at: new Date(this.deps.clock.now()).toISOString(), fleet: { hosts: this.hosts.hosts() }, alerts, silences };
    this.snapshotCache = { seq: this.seq, text: JSON.stringify(body) };
    return this.snapshotCache;
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Changes into frames of at most maxMessageBytes (one oversized change travels alone). */
  private pack(changes: readonly FeedChange[], at: string, maxMessageBytes: number): FeedFrame[] {
    const frames: FeedFrame[] = [];
    let parts: string[] = [];
    let size = 0;
    const emit = () => {
      const seq = ++this.seq;
      frames.push({ seq, text: `{"type":"delta","v":${FEED_VERSION},"seq":${seq},"at":"${at}","changes":[${parts.join(',')}]}` });
      parts = [];
      size = 0;
    };
    for (const change of changes) {
      const text = JSON.stringify(change);
      const bytes = Buffer.byteLength(text);
      if (parts.length > 0 && size + bytes + ENVELOPE_BYTES > maxMessageBytes) emit();
      parts.push(text);
      size += bytes + 1;
    }
    if (parts.length > 0) emit();
    return frames;
  }
}

/** Room for the delta's own fields around the changes. */
const ENVELOPE_BYTES = 128;
