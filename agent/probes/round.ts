import type { Clock } from '../../shared/clock.js';
import type { DeepProbeConfig, ServiceConfig } from '../../shared/config/agent-config.js';
import { runLadder, type LadderAttempt } from './ladder.js';
import { creditFromMetrics, deepDue, deepPassed, metricsDue, metricsWanted, readyDue, type RoundState } from './round-plan.js';
import type { MetricsRead, MetricsSample, Probe, ProbeAttempt, ProbeContext, ProbeLevel, ProbeOutcome, RoundResult, StallObservation } from './types.js';

export { createRoundState, READY_EVERY_MS, type RoundState } from './round-plan.js';

/**
 * One probe round for one service (docs/probing.md): alive → ready → metrics → deep (when
 * due) on the primary URL with hedged retries (ladder.ts), then the fallbacks. The round only
 * observes; what an outcome means (starting, down, crash) is the state machine's call.
 */

/** Attempts kept in `RoundResult.trail`: enough to explain a round, bounded for events. */
export const TRAIL_MAX = 10;

/** Answers that are not failures, so retrying or falling back would only add load. */
const FINAL_OUTCOMES = new Set<ProbeOutcome>(['busy', 'loading']);
/** Deterministic answers: retrying the same URL cannot change them, a fallback might. */
const NO_RETRY_OUTCOMES = new Set<ProbeOutcome>(['busy', 'loading', 'model_missing', 'mismatch']);

export interface RoundOptions {
  clock: Clock;
  state: RoundState;
  /**
   * Asked once per round after a refused connection: true when the unit is not active or
   * its main process is gone, i.e. a crash: no more retries.
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
}

interface UrlRun extends AttemptRun {
  attempts: number;
}

export function runRound(service: ServiceConfig, probe: Probe, opts: RoundOptions): Promise<RoundResult> {
  return new Round(service, probe, opts).run();
}

/** One round's observations; every method is one step of it. */
class Round {
  private readonly at: number;
  private readonly deepCfg: DeepProbeConfig | undefined;
  private readonly trail: ProbeAttempt[] = [];
  private readonly notes: string[] = [];
  private metrics: MetricsSample | undefined;
  private stall: StallObservation | undefined;
  private metricsTried = false;
  private deep: ProbeAttempt | undefined;
  private evidenceAsked = false;
  private crash = false;

  constructor(
    private readonly service: ServiceConfig,
    private readonly probe: Probe,
    private readonly opts: RoundOptions,
  ) {
    this.at = opts.clock.now();
    this.deepCfg = probe.deep ? service.deepProbe : undefined;
  }

  async run(): Promise<RoundResult> {
    const { service } = this;
    const primary = await this.onUrl(service.url, true);
    const result: RoundResult = {
      at: this.at,
      outcome: primary.outcome,
      primaryOk: primary.outcome === 'ok',
      primaryOutcome: primary.outcome,
      attempts: primary.attempts,
      latencyMs: primary.latencyMs,
      detail: describe(primary, service.retries, this.crash),
      trail: this.trail,
    };
    if (primary.outcome === 'ok') result.servedBy = service.url;
    else if (!FINAL_OUTCOMES.has(primary.outcome)) await this.tryFallbacks(result, primary);
    if (this.crash) result.crash = true;
    if (this.deep) result.deep = this.deep;
    if (this.metrics) result.metrics = this.metrics;
    if (this.stall) result.stall = this.stall;
    if (this.notes.length) result.detail += `; ${this.notes.join('; ')}`;
    return result;
  }

  /** The first fallback URL that passes serves the round; the others leave a note. */
  private async tryFallbacks(result: RoundResult, primary: UrlRun): Promise<void> {
    for (const url of this.service.fallbackUrls) {
      if (this.opts.signal?.aborted) return;
      const fallback = await this.onUrl(url, false);
      if (fallback.outcome !== 'ok') {
        this.notes.push(`fallback ${url}: ${fallback.last.detail}`);
        continue;
      }
      result.outcome = 'ok';
      result.servedBy = url;
      result.latencyMs = fallback.latencyMs;
      result.detail = `served by fallback ${url}; primary ${primary.outcome}: ${result.detail}`;
      return;
    }
  }

  /** Up to `retries` hedged attempts on one URL. */
  private async onUrl(url: string, primary: boolean): Promise<UrlRun> {
    const { service, opts } = this;
    const ladder = await runLadder<AttemptRun>({
      clock: opts.clock,
      retries: service.retries,
      retryDelay: service.retryDelay,
      signal: opts.signal,
      attempt: (a) => this.attemptOnce(url, primary, a),
      judge: (run) => (run.outcome === 'ok' ? 'ok' : NO_RETRY_OUTCOMES.has(run.outcome) ? 'final' : 'failed'),
      stopAfter: (run) => this.confirmsCrash(run, primary),
      onRetry: (run) => {
        if (primary) notify(opts.onAttemptFailed, run.last);
      },
    });
    // retries >= 1 is enforced by the config schema; the guard keeps a hand-built config honest
    const run = ladder.result ?? { outcome: 'error', last: { level: 'alive', outcome: 'error', url, latencyMs: 0, detail: 'no attempt made' }, latencyMs: 0 };
    return { ...run, attempts: ladder.attempts };
  }

  /** A refused primary: asked once per round whether the unit's process is gone (a crash). */
  private async confirmsCrash(run: AttemptRun, primary: boolean): Promise<boolean> {
    if (run.outcome !== 'refused' || !primary || !this.opts.crashEvidence || this.evidenceAsked) return false;
    this.evidenceAsked = true;
    this.crash = await guard(this.opts.crashEvidence, () => false);
    return this.crash;
  }

  private async attemptOnce(url: string, primary: boolean, ladder: LadderAttempt): Promise<AttemptRun> {
    const { service, probe } = this;
    const { state } = this.opts;
    const ctx: ProbeContext = { timeoutMs: service.timeout, signal: ladder.signal };
    let latencyMs = 0;
    const step = async (level: ProbeLevel, call: () => Promise<ProbeAttempt>): Promise<ProbeAttempt> => {
      const attempt = this.record(await guard(call, (detail) => ({ level, outcome: 'error', url, latencyMs: 0, detail })));
      latencyMs += attempt.latencyMs;
      return attempt;
    };
    let last = await step('alive', () => probe.alive(url, ctx));
    if (last.outcome !== 'ok') return { outcome: last.outcome, last, latencyMs };
    // only one attempt goes past `alive`: a hedged sibling that answered first wins
    if (!ladder.claim()) return { outcome: 'error', last: { ...last, outcome: 'error', detail: 'superseded by a parallel attempt' }, latencyMs };
    if (!probe.readyIsAlive && readyDue(state, url, this.at)) {
      last = await step('ready', () => probe.ready(url, ctx));
      if (last.outcome !== 'ok') return { outcome: last.outcome, last, latencyMs };
      state.lastReadyAt = this.at;
      state.lastReadyUrl = url;
    }
    if (primary && !this.metricsTried && metricsDue(state, service, this.deepCfg, url, this.at)) {
      this.metricsTried = true;
      await this.readMetrics(url, ctx);
    }
    if (deepDue(state, this.deepCfg, url, this.at)) {
      last = await this.deepStep(url, primary, ladder.signal, step);
      return { outcome: last.outcome, last, latencyMs };
    }
    return { outcome: 'ok', last, latencyMs };
  }

  /** The deep probe, or its credit from moving counters; a timeout behind busy work is busy. */
  private async deepStep(url: string, primary: boolean, signal: AbortSignal, step: (level: ProbeLevel, call: () => Promise<ProbeAttempt>) => Promise<ProbeAttempt>): Promise<ProbeAttempt> {
    const { state } = this.opts;
    const deepCfg = this.deepCfg!;
    const credit = primary ? creditFromMetrics(state, this.metrics, url) : undefined;
    if (credit) {
      this.deep = this.record(credit);
      deepPassed(state, url, this.at, false, this.metrics);
      return credit;
    }
    let last = await step('deep', () => this.probe.deep!(url, { timeoutMs: deepCfg.timeout, signal, vision: deepCfg.vision, prompt: deepCfg.prompt }));
    this.deep = last;
    if (last.outcome === 'timeout' && primary && !signal.aborted) {
      const queued = await this.queuedBehindWork(url, { timeoutMs: this.service.timeout, signal }, last);
      if (queued) this.deep = last = this.record(queued);
    }
    if (last.outcome === 'ok') deepPassed(state, url, this.at, true, this.metrics);
    return last;
  }

  private async readMetrics(url: string, ctx: ProbeContext): Promise<void> {
    const { service, probe } = this;
    const state = this.opts.state;
    if (!probe.metrics || !metricsWanted(state, service)) return;
    const read = await guard<MetricsRead>(() => probe.metrics!(url, ctx), (detail) => ({ status: 'failed', detail }));
    if (read.status === 'ok') {
      state.metricsSupported = true;
      // only a good read counts: a blip or a missing series is asked again next round
      state.lastMetricsAt = this.at;
      this.metrics = read.sample;
      state.lastMetrics = read.sample;
      this.stall = state.tracker.observe(read.sample);
      if (state.rebaseline) {
        state.deepBaseline = read.sample.progress;
        state.rebaseline = false;
      }
      return;
    }
    if (read.status === 'absent' && service.metrics === 'auto') state.metricsSupported = false;
    else if (service.metrics === true) this.notes.push(`metrics: ${read.detail}`);
  }

  /**
   * A deep probe that timed out behind other work is busy, not hung (a real llama-server
   * queues it while every slot generates, and /health stays 200): the metrics read again now
   * show requests running or waiting and a progress counter that moved since the read before
   * the probe; without metrics, the server's own view of its work where it has one.
   */
  private async queuedBehindWork(url: string, ctx: ProbeContext, timedOut: ProbeAttempt): Promise<ProbeAttempt | undefined> {
    const { service, probe } = this;
    const state = this.opts.state;
    const busy = (why: string): ProbeAttempt => ({ ...timedOut, outcome: 'busy', detail: `${timedOut.detail}; queued behind ${why}` });
    const before = this.metrics ?? state.lastMetrics;
    if (before && probe.metrics && metricsWanted(state, service)) {
      await this.readMetrics(url, ctx);
      const after = this.metrics;
      if (!after || after === before || after.running + after.waiting <= 0 || after.progress <= before.progress) return undefined;
      // counters moved: the next rounds may credit the deep probe from them instead of queueing another
      state.deepBaseline = after.progress;
      return busy(`${after.running} running, ${after.waiting} waiting request(s), progress +${after.progress - before.progress}`);
    }
    if (!probe.workInProgress) return undefined;
    const work = await guard(() => probe.workInProgress!(url, ctx), () => undefined);
    return work && work.running > 0 && work.progressed ? busy(`${work.running} busy slot(s) still decoding`) : undefined;
  }

  private record(attempt: ProbeAttempt): ProbeAttempt {
    this.trail.push(attempt);
    if (this.trail.length > TRAIL_MAX) this.trail.shift();
    return attempt;
  }
}

/** The deciding attempt's detail; attempt count and crash evidence travel as their own fields. */
function describe(run: UrlRun, retries: number, crash: boolean): string {
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
