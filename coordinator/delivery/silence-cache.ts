import type { Clock } from '../../shared/clock.js';
import type { Silence } from '../alerts/types.js';
import type { SilenceStore } from '../store/silence-store.js';

/**
 * The silences the alert pipeline reads synchronously on every flush
 * (`AlertPipeline` option `silences: () => readonly Silence[]`): loaded from the store at
 * start, then kept current by the silences API (`registerSilenceRoutes` `onChange`:
 * `(s) => cache.put(s)`), so a silence mutes from the moment its POST is answered.
 * Ended silences are dropped as they are met.
 */
export class SilenceCache {
  private readonly byId = new Map<string, Silence>();

  constructor(
    private readonly store: Pick<SilenceStore, 'listSilences'>,
    private readonly clock: Clock,
  ) {}

  /** (Re)reads the active and pending silences from the store. */
  async load(): Promise<void> {
    const silences = await this.store.listSilences({ now: this.clock.now() });
    this.byId.clear();
    for (const s of silences) this.byId.set(s.id, s);
  }

  /** A silence created or changed (expired) through the API. */
  put(silence: Silence): void {
    if (silence.endsAt <= this.clock.now()) this.byId.delete(silence.id);
    else this.byId.set(silence.id, silence);
  }

  /** Active and pending silences. */
  all(): readonly Silence[] {
    const now = this.clock.now();
    const out: Silence[] = [];
    for (const [id, s] of this.byId) {
      if (s.endsAt <= now) this.byId.delete(id);
      else out.push(s);
    }
    return out;
  }
}
