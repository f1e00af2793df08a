import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { regexProblem } from '../../shared/regex.js';
import { formatMatcher } from '../alerts/matchers.js';
import type { Silence } from '../alerts/types.js';
import type { SilenceStore } from '../store/silence-store.js';

/**
 * The silences the alert pipeline reads synchronously on every flush
 * (`AlertPipeline` option `silences: () => readonly Silence[]`): loaded from the store at
 * start, then kept current by the silences API (`registerSilenceRoutes` `onChange`:
 * `(s) => cache.put(s)`), so a silence mutes from the moment its POST is answered.
 * Ended silences are dropped as they are met.
 *
 * A stored silence may hold a regex that RE2 does not accept (written before matchers used
 * RE2, or by hand): it stays listed, mutes no alert (its matcher matches nothing, see
 * matchOne), and is logged at load so that someone recreates it. Muting nothing is the
 * safe side: an unexpected notification is noticed, an unexpectedly muted outage is not.
 */
export class SilenceCache {
  private readonly byId = new Map<string, Silence>();

  constructor(
    private readonly store: Pick<SilenceStore, 'listSilences'>,
    private readonly clock: Clock,
    private readonly logger?: Pick<Logger, 'error'>,
  ) {}

  /** (Re)reads the active and pending silences from the store. */
  async load(): Promise<void> {
    const silences = await this.store.listSilences({ now: this.clock.now() });
    this.byId.clear();
    for (const s of silences) {
      this.reportUnusable(s);
      this.byId.set(s.id, s);
    }
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

  private reportUnusable(s: Silence): void {
    for (const m of s.matchers) {
      const problem = m.isRegex ? regexProblem(m.value) : null;
      if (problem === null) continue;
      this.logger?.error(
        { silenceId: s.id, matcher: formatMatcher(m), problem, createdBy: s.createdBy, endsAt: new Date(s.endsAt).toISOString() },
        'stored silence has a matcher that is not valid RE2: it mutes no alert; expire it and create it again in RE2 syntax',
      );
    }
  }
}
