import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { ServiceConfig } from '../../shared/config/agent-config.js';
import { ProgressTracker } from './stall.js';
import type { MetricsRead, MetricsSample, Probe, ProbeAttempt, ProbeContext, ProbeLevel, ProbeOutcome, RoundResult, StallObservation } from './types.js';

/**
 * One probe round for one service (SPEC §5): alive → ready → metrics → deep (when due) on
 * the primary URL with retries, then the fallbacks. The round only observes; what an
 * outcome means (starting, down, crash) is the state machine's call.
 */

/** How often `ready` (model listed / loaded) is asked while `alive` keeps passing. */
export const READY_EVERY_MS = 30_000;

/** Attempts kept in `RoundResult.trail`: enough to explain a round, bounded for events. */
export const TRAIL_MAX = 10;

/** Answers that are not failures, so retrying or falling back would only add load. */
const FINAL_OUTCOMES = new Set<ProbeOutcome>(['busy', 'loading']);
/** Deterministic answers: retrying the same URL cannot change them, a fallback might. */
const NO_RETRY_OUTCOMES = new Set<ProbeOutcome>(['busy', 'loading', 'model_missing', 'mismatch']);

/** What one service's rounds remember between rounds; the caller keeps one per service. */
export interface RoundState {
  /** when a deep probe last passed (sent, or credited from metrics), and on which URL */
  lastDeepAt?: number;
  lastDeepUrl?: string;
  /** progress counter value a metrics-credited deep probe is compared against */
  deepBaseline?: number;
  /** a real deep probe just ran; its own token moved the counters, so take the next read as baseline */
  rebaseline: boolean;
  /** undefined until known; false once a `metrics: auto` service answered that it has none */
  metricsSupported?: boolean;
  lastMetrics?: MetricsSample;
  /** when `ready` last passed, and on which URL (it is re-asked every READY_EVERY_MS) */
  lastReadyAt?: number;
  lastReadyUrl?: string;
  /** when metrics were last read */
  lastMetricsAt?: number;
  tracker: ProgressTracker;
}

export function createRoundState(): RoundState {
  return { rebaseline: false, tracker: new ProgressTracker() };
}

export interface RoundOptions {
  clock: Clock;
  state: RoundState;
  /**
   * Asked once per round after a refused connection: true when the unit is not active or
   * its main process is gone, i.e. a crash (SPEC §5 evidence): no more retries.
   */
  crashEvidence?: () => Promise<boolean>;
  /** told about each failed primary attempt that another attempt will follow (state `unhealthy`) */
  onAttemptFailed?: (attempt: ProbeAttempt) => void;
  /** aborts the round (agent shutdown): the round returns what it has */
  signal?: AbortSignal;
}

interface AttemptRun {
  outcome: ProbeOutcome;
  /** the step that decided the outcome (the last one sent when all passed) */
  last: ProbeAttempt;
  /** summed latency of the steps of this attempt */
  latencyMs: number;
  /** cancelled because a parallel attempt got past `alive` first */
  superseded?: boolean;
}

/** A promise that never settles: the hedge slot of a race when no hedge may be launched. */
const NEVER = new Promise<never>(() => {});

interface Flight {
  id: number;
  controller: AbortController;
  pastAlive: boolean;
  onPastAlive: () => void;
  done: Promise<{ flight: Flight; run: AttemptRun }>;
}

interface LadderRun extends AttemptRun {
  attempts: number;
}

export async function runRound(service: ServiceConfig, probe: Probe, opts: RoundOptions): Promise<RoundResult> {
  const { clock, state, signal } = opts;
  const at = clock.now();
  const trail: ProbeAttempt[] = [];
  const notes: string[] = [];
  const deepCfg = probe.deep ? service.deepProbe : undefined;
  let metrics: MetricsSample | undefined;
  let stall: StallObservation | undefined;
  let metricsTried = false;
  let deep: ProbeAttempt | undefined;
  let evidenceAsked = false;
  let crash = false;

  const record = (attempt: ProbeAttempt): ProbeAttempt => {
    trail.push(attempt);
    if (trail.length > TRAIL_MAX) trail.shift();
    return attempt;
  };

  const deepDue = (url: string): boolean =>
    deepCfg !== undefined && (state.lastDeepAt === undefined || state.lastDeepUrl !== url || at - state.lastDeepAt >= deepCfg.every);

  async function readMetrics(url: string, ctx: ProbeContext): Promise<void> {
    if (!probe.metrics || service.metrics === false || state.metricsSupported === false) return;
    const read = await guard<MetricsRead>(() => probe.metrics!(url, ctx), (detail) => ({ status: 'failed', detail }));
    if (read.status === 'ok') {
      state.metricsSupported = true;
      // only a good read counts: a blip or a missing series is asked again next round
      state.lastMetricsAt = at;
      metrics = read.sample;
      state.lastMetrics = read.sample;
      stall = state.tracker.observe(read.sample);
      if (state.rebaseline) {
        state.deepBaseline = read.sample.progress;
        state.rebaseline = false;
      }
      return;
    }
    if (read.status === 'absent' && service.metrics === 'auto') state.metricsSupported = false;
    else if (service.metrics === true) notes.push(`metrics: ${read.detail}`);
  }

  // SPEC §5: counters that moved since the last deep probe prove generation without adding load
  function creditFromMetrics(url: string): ProbeAttempt | undefined {
    if (!metrics || state.deepBaseline === undefined) return undefined;
    const moved = metrics.progress - state.deepBaseline;
    if (moved <= 0) return undefined;
    return { level: 'deep', outcome: 'ok', url, latencyMs: 0, detail: `progress counters moved (+${moved} since the last deep probe)`, inferred: true };
  }

  /**
   * A deep probe that timed out behind other work is busy, not hung (a real llama-server
   * queues it while every slot generates, and /health stays 200): the metrics read again now
   * show requests running or waiting and a progress counter that moved since the read before
   * the probe. Without metrics the timeout stands.
   */
  async function queuedBehindWork(url: string, ctx: ProbeContext, timedOut: ProbeAttempt): Promise<ProbeAttempt | undefined> {
    const busy = (why: string): ProbeAttempt => ({ ...timedOut, outcome: 'busy', detail: `${timedOut.detail}; queued behind ${why}` });
    const before = metrics ?? state.lastMetrics;
    if (before && probe.metrics && service.metrics !== false && state.metricsSupported !== false) {
      await readMetrics(url, ctx);
      const after = metrics;
      if (!after || after === before || after.running + after.waiting <= 0 || after.progress <= before.progress) return undefined;
      // counters moved: the next rounds may credit the deep probe from them instead of queueing another
      state.deepBaseline = after.progress;
      return busy(`${after.running} running, ${after.waiting} waiting request(s), progress +${after.progress - before.progress}`);
    }
    if (!probe.workInProgress) return undefined;
    const work = await guard(() => probe.workInProgress!(url, ctx), () => undefined);
    return work && work.running > 0 && work.progressed ? busy(`${work.running} busy slot(s) still decoding`) : undefined;
  }

  async function attemptOnce(url: string, primary: boolean, flight: Flight): Promise<AttemptRun> {
    const ctx: ProbeContext = { timeoutMs: service.timeout, signal: flight.controller.signal };
    let latencyMs = 0;
    const step = async (level: ProbeLevel, call: () => Promise<ProbeAttempt>): Promise<ProbeAttempt> => {
      const attempt = record(await guard(call, (detail) => ({ level, outcome: 'error', url, latencyMs: 0, detail })));
      latencyMs += attempt.latencyMs;
      return attempt;
    };
    let last = await step('alive', () => probe.alive(url, ctx));
    if (last.outcome !== 'ok') return { outcome: last.outcome, last, latencyMs };
    // only one attempt goes past `alive`: a hedged sibling that answered first wins
    if (flight.controller.signal.aborted) return { outcome: 'error', last: { ...last, outcome: 'error', detail: 'superseded by a parallel attempt' }, latencyMs, superseded: true };
    flight.pastAlive = true;
    flight.onPastAlive();
    // A model list changes rarely; alive every round and ready every READY_EVERY_MS halves
    // the requests a healthy server gets. A fresh round state (agent start, after a restart)
    // asks it at once.
    const readyDue = state.lastReadyAt === undefined || state.lastReadyUrl !== url || at - state.lastReadyAt >= READY_EVERY_MS;
    if (!probe.readyIsAlive && readyDue) {
      last = await step('ready', () => probe.ready(url, ctx));
      if (last.outcome !== 'ok') return { outcome: last.outcome, last, latencyMs };
      state.lastReadyAt = at;
      state.lastReadyUrl = url;
    }
    // Metrics: often enough to see a stall well within stallAfter, and whenever a deep probe
    // is due (moving counters can stand in for it).
    const metricsDue = state.lastMetricsAt === undefined || at - state.lastMetricsAt >= Math.max(service.interval, service.stallAfter / 6) || (deepCfg !== undefined && deepDue(url));
    if (primary && !metricsTried && metricsDue) {
      metricsTried = true;
      await readMetrics(url, ctx);
    }
    if (deepCfg && deepDue(url)) {
      const credit = primary ? creditFromMetrics(url) : undefined;
      if (credit) {
        deep = last = record(credit);
        state.deepBaseline = metrics!.progress;
      } else {
        deep = last = await step('deep', () => probe.deep!(url, { timeoutMs: deepCfg.timeout, signal: flight.controller.signal, vision: deepCfg.vision, prompt: deepCfg.prompt }));
        if (last.outcome === 'timeout' && primary && !flight.controller.signal.aborted) {
          const queued = await queuedBehindWork(url, ctx, last);
          if (queued) {
            deep = last = record(queued);
            return { outcome: 'busy', last, latencyMs };
          }
        }
        if (last.outcome !== 'ok') return { outcome: last.outcome, last, latencyMs };
        state.deepBaseline = undefined;
        state.rebaseline = true;
      }
      state.lastDeepAt = at;
      state.lastDeepUrl = url;
    }
    return { outcome: 'ok', last, latencyMs };
  }

  /**
   * Up to `retries` attempts on one URL. A failed attempt is followed by the next one
   * `retryDelay` later. An attempt whose `alive` request has had no answer for `retryDelay`
   * gets a hedged sibling started beside it, so a hung server is confirmed by `retries`
   * independent timeouts in about timeout + (retries - 1) * retryDelay rather than
   * retries * timeout + (retries - 1) * retryDelay. Only `alive` is hedged: the first attempt
   * to pass it cancels its siblings, so ready and deep probes (generation) are never sent
   * twice.
   *
   * The ladder ends at the `retries`-th failure, not at the `retries`-th launch: while
   * attempts are still pending, one more hedge may go out (retries >= 2). A server that
   * drops every request for a moment (a 1.5 s stall with timeout 1 s, retryDelay 500 ms)
   * can swallow three attempts launched 1 s apart, but the fourth, launched after the stall,
   * is answered before the third times out. A hung server still fails three times, at the
   * same moment as before.
   */
  async function ladder(url: string, primary: boolean): Promise<LadderRun> {
    let run: AttemptRun | undefined;
    let attempts = 0;
    let failures = 0;
    const maxInFlightAndFailed = service.retries + (service.retries > 1 ? 1 : 0);
    const flights = new Map<number, Flight>();
    const abortAll = (except?: Flight) => {
      for (const f of flights.values()) if (f !== except) f.controller.abort();
    };
    const onOuterAbort = () => abortAll();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    let lastLaunchAt = 0;
    const launch = () => {
      attempts++;
      lastLaunchAt = clock.now();
      const flight: Flight = {
        id: attempts,
        controller: new AbortController(),
        pastAlive: false,
        onPastAlive: () => abortAll(flight),
        done: undefined as unknown as Promise<{ flight: Flight; run: AttemptRun }>,
      };
      flight.done = attemptOnce(url, primary, flight).then((r) => ({ flight, run: r }));
      flights.set(flight.id, flight);
    };
    try {
      launch();
      while (flights.size > 0) {
        const canHedge = flights.size < service.retries && failures + flights.size < maxInFlightAndFailed && [...flights.values()].every((f) => !f.pastAlive);
        // the next hedge is due retryDelay after the last launch, however many answers
        // arrive meanwhile (re-arming it on each pass pushed the third attempt to +2 delays)
        let hedgeTimer: TimerHandle | undefined;
        const hedge = canHedge
          ? new Promise<'hedge'>((resolve) => {
              hedgeTimer = clock.setTimeout(() => resolve('hedge'), Math.max(0, lastLaunchAt + service.retryDelay - clock.now()));
            })
          : NEVER;
        const winner = await Promise.race([hedge, ...[...flights.values()].map((f) => f.done)]);
        clock.clearTimeout(hedgeTimer);
        if (winner === 'hedge') {
          if (!signal?.aborted) launch();
          continue;
        }
        flights.delete(winner.flight.id);
        // cancelled because a sibling got past `alive`: not a failure of the server
        if (winner.run.superseded || (winner.flight.controller.signal.aborted && [...flights.values()].some((f) => f.pastAlive))) continue;
        run = winner.run;
        if (run.outcome === 'ok' || NO_RETRY_OUTCOMES.has(run.outcome) || signal?.aborted) break;
        failures++;
        if (run.outcome === 'refused' && primary && opts.crashEvidence && !evidenceAsked) {
          evidenceAsked = true;
          crash = await guard(opts.crashEvidence, () => false);
          if (crash) break;
        }
        if (failures >= service.retries) break;
        if (primary) notify(opts.onAttemptFailed, run.last);
        if (flights.size > 0) continue;
        try {
          await clock.sleep(service.retryDelay, signal);
        } catch {
          break; // aborted: report what we have
        }
        launch();
      }
    } finally {
      abortAll();
      signal?.removeEventListener('abort', onOuterAbort);
    }
    // retries >= 1 is enforced by the config schema; the guard keeps a hand-built config honest
    run ??= { outcome: 'error', last: { level: 'alive', outcome: 'error', url, latencyMs: 0, detail: 'no attempt made' }, latencyMs: 0 };
    // a confirmed failure reports the attempts that failed, not a last hedge cut short by it
    return { ...run, attempts: failures >= service.retries ? failures : attempts };
  }

  const primary = await ladder(service.url, true);
  const result: RoundResult = {
    at,
    outcome: primary.outcome,
    primaryOk: primary.outcome === 'ok',
    primaryOutcome: primary.outcome,
    attempts: primary.attempts,
    latencyMs: primary.latencyMs,
    detail: describe(primary, service.retries, crash),
    trail,
  };
  if (primary.outcome === 'ok') result.servedBy = service.url;
  else if (!FINAL_OUTCOMES.has(primary.outcome)) {
    for (const url of service.fallbackUrls) {
      if (signal?.aborted) break;
      const fallback = await ladder(url, false);
      if (fallback.outcome !== 'ok') {
        notes.push(`fallback ${url}: ${fallback.last.detail}`);
        continue;
      }
      result.outcome = 'ok';
      result.servedBy = url;
      result.latencyMs = fallback.latencyMs;
      result.detail = `served by fallback ${url}; primary ${primary.outcome}: ${result.detail}`;
      break;
    }
  }
  if (crash) result.crash = true;
  if (deep) result.deep = deep;
  if (metrics) result.metrics = metrics;
  if (stall) result.stall = stall;
  if (notes.length) result.detail += `; ${notes.join('; ')}`;
  return result;
}

/** The deciding attempt's detail; attempt count and crash evidence travel as their own fields. */
function describe(run: LadderRun, retries: number, crash: boolean): string {
  if (run.outcome !== 'ok' && !crash && run.attempts < retries && !NO_RETRY_OUTCOMES.has(run.outcome)) return `${run.last.detail} (round aborted)`;
  return run.last.detail;
}

function notify(hook: ((attempt: ProbeAttempt) => void) | undefined, attempt: ProbeAttempt): void {
  try {
    hook?.(attempt);
  } catch {
    // an observer's bug must not end the round
  }
}

/** Probe code must never throw out of a round; if it does, that is an `error` outcome. */
async function guard<T>(call: () => Promise<T>, onThrow: (detail: string) => T): Promise<T> {
  try {
    return await call();
  } catch (err) {
    return onThrow(`probe threw: ${err instanceof Error ? err.message : String(err)}`);
  }
}
