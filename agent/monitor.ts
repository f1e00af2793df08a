import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { ServiceConfig } from '../shared/config/agent-config.js';
import type { RoundResult, ProbeAttempt } from './probes/types.js';
import { classifyRound } from './state/classify.js';
import { initialStatus, inGrace, step } from './state/machine.js';
import type { MachineConfig, MachineInput, ServiceStatus } from './state/types.js';
import type { EventLog } from './events.js';
import { Pacer } from './pacer.js';
import type { UnitControl } from './unit-control.js';
import { UnitWatch } from './unit-watch.js';
import { runRestart } from './restart/run-restart.js';
import type { RestartOutcome } from './restart/restart-unit.js';

/** Runs one probe round for this service; the monitor passes hooks for evidence and progress. */
export type RoundRunner = (hooks: RoundHooks) => Promise<RoundResult>;
export interface RoundHooks {
  /** asked once when the primary refuses the connection: is the process gone? */
  crashEvidence: () => Promise<boolean>;
  /** called when an attempt failed and retries are pending */
  onAttemptFailed: (attempt: ProbeAttempt) => void;
}

export interface MonitorDeps {
  clock: Clock;
  logger: Logger;
  events: EventLog;
  runRound: RoundRunner;
  /** resets deep-probe and metrics memory after a restart (a new process) */
  resetRoundState: () => void;
  units?: UnitControl;
  restart: { enabled: boolean; maxRestarts: number; window: number; backoff: number };
  /** is this pid still a process? (injectable for tests) */
  pidAlive?: (pid: number) => boolean;
  /** the agent's shared time grid, so services probed at the same interval wake together */
  pacer?: Pacer;
  /** true while the host is in maintenance: no automatic restart starts (operator ones do) */
  paused?: () => boolean;
}

export interface ServiceSnapshot {
  name: string;
  kind: string;
  url: string;
  unit?: string;
  state: string;
  reason: string;
  since: string;
  servedBy?: string;
  lastProbe: { ok: boolean; latencyMs: number; at: string } | null;
  restarts: { count: number; lastAt: string | null; lastOutcome: string | null };
}

/**
 * How often the agent checks that each unit's main process still exists. Once a second, on
 * the rounds' own grid, so the watch adds no wake-up of its own: waking an otherwise idle
 * process costs more than the reads themselves (bench/README.md, probe cost). A crash is
 * usually seen sooner anyway: the kernel closes the dead server's keep-alive connection,
 * which triggers the check at once.
 */
export const PID_WATCH_MS = 1_000;

/** After a lost connection, when to look at the main process once more (connectionLost). */
export const LOST_CONNECTION_RECHECK_MS = 100;

/** States in which a vanished main process means something happened to a running server. */
const PID_WATCHED = new Set(['healthy', 'degraded', 'unhealthy', 'starting']);

/**
 * One service's loop: probe round → classify → state machine → actions. Schedules its rounds
 * (more often while the service comes up), feeds the state machine, and runs the restarts it
 * asks for; what it knows of the unit between rounds lives in its UnitWatch.
 */
export class ServiceMonitor {
  private status: ServiceStatus;
  private readonly machine: MachineConfig;
  private timer: TimerHandle | undefined;
  private cancelPaced: (() => void) | undefined;
  private lostRecheck: TimerHandle | undefined;
  private readonly pacer: Pacer;
  private running = false;
  private busy: Promise<void> | null = null;
  private wakeRequested = false;
  private cycleStartedAt: number | null = null;
  private restarting = false;
  private lastRound: RoundResult | null = null;
  /** set when a unit is configured and a unit control is there to ask */
  private readonly watch: UnitWatch | undefined;
  private pendingRestart: { reason: string; attempt: number } | null = null;
  /**
   * Evidence read as soon as this cycle's first attempt failed with retries to come: if the
   * retries fail too, the restart goes out at once instead of waiting for systemctl and
   * journalctl then (still read before the restart, while the failing process runs).
   */
  private evidenceAhead: Promise<Record<string, unknown>> | undefined;

  constructor(
    readonly service: ServiceConfig,
    private readonly deps: MonitorDeps,
  ) {
    const canRestart = Boolean(service.unit && deps.units && deps.restart.enabled);
    this.machine = {
      startupGrace: service.startupGrace,
      recoverAfter: service.recoverAfter,
      canRestart,
      maxRestarts: deps.restart.maxRestarts,
      window: deps.restart.window,
      backoff: deps.restart.backoff,
    };
    this.status = initialStatus(deps.clock.now(), this.machine);
    if (service.unit && deps.units) this.watch = new UnitWatch(service.unit, deps.units, deps.clock, deps.logger, deps.pidAlive);
    this.pacer = deps.pacer ?? new Pacer(deps.clock);
  }

  /**
   * How long the current cycle has been running, for the daemon's watchdog (0 when idle).
   * Time inside `systemctl restart` does not count: that command has its own deadline, which
   * follows the unit's stop and start timeouts and can rightly take many minutes.
   */
  busyFor(now: number): number {
    return this.cycleStartedAt === null || this.restarting ? 0 : now - this.cycleStartedAt;
  }

  get state(): ServiceStatus {
    return this.status;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.cancelWake();
    this.deps.clock.clearTimeout(this.lostRecheck);
    await this.busy;
    this.watch?.close();
  }

  /** Runs one cycle now (also used by tests and by the pid watch). */
  async runOnce(): Promise<void> {
    if (this.busy) {
      this.wakeRequested = true;
      return this.busy;
    }
    this.cycleStartedAt = this.deps.clock.now();
    this.busy = this.cycle().finally(() => {
      this.busy = null;
      this.cycleStartedAt = null;
    });
    return this.busy;
  }

  snapshot(): ServiceSnapshot {
    const s = this.status;
    const r = this.lastRound;
    return {
      name: this.service.name,
      kind: this.service.kind,
      url: this.service.url,
      unit: this.service.unit,
      state: s.state,
      reason: s.reason,
      since: new Date(s.since).toISOString(),
      servedBy: r?.servedBy,
      lastProbe: r ? { ok: r.outcome === 'ok', latencyMs: Math.round(r.latencyMs), at: new Date(r.at).toISOString() } : null,
      restarts: {
        count: s.restartCount,
        lastAt: s.lastRestartAt === null ? null : new Date(s.lastRestartAt).toISOString(),
        lastOutcome: s.lastRestartOutcome,
      },
    };
  }

  /** Next round after `ms`: at once for 0, otherwise on the shared grid of that period. */
  private schedule(ms: number): void {
    if (!this.running) return;
    this.cancelWake();
    const run = () => {
      this.timer = undefined;
      this.cancelPaced = undefined;
      void this.runOnce().then(() => this.schedule(this.nextDelay()));
    };
    if (ms <= 0) this.timer = this.deps.clock.setTimeout(run, 0);
    else this.cancelPaced = this.pacer.atNext(ms, run);
  }

  private cancelWake(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.cancelPaced?.();
    this.cancelPaced = undefined;
  }

  /** While a service is coming up, look more often: recovery is announced sooner. */
  private nextDelay(): number {
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return 0;
    }
    const { interval } = this.service;
    const s = this.status.state;
    if (s === 'starting' || s === 'unknown' || (s === 'down' && this.status.nextRestartAt !== null)) {
      return Math.max(100, Math.min(interval / 4, 1000));
    }
    return interval;
  }

  /**
   * Between rounds: is the unit's main process still there? One cheap /proc read; when it
   * vanished, probe now (and ask systemd what runs instead). The agent calls this for every
   * service from one shared timer (PID_WATCH_MS).
   */
  checkPid(): void {
    if (!this.running || !this.watch || this.busy || !PID_WATCHED.has(this.status.state)) return;
    if (!this.watch.pidVanished()) return;
    // the round runs now, and the next one follows on the schedule of the state it leaves
    // (the short poll while the restarted server comes up), not on the old interval slot
    void this.runOnce().then(() => this.schedule(this.nextDelay()));
  }

  /**
   * The keep-alive connection to the service closed: maybe the server died. Looked at now,
   * and once more shortly after, because a dying process closes its sockets before it reads
   * as gone (the kernel tears down its files first, then marks it a zombie), and the next
   * PID-watch tick may be a second away.
   */
  connectionLost(): void {
    this.checkPid();
    this.deps.clock.clearTimeout(this.lostRecheck);
    this.lostRecheck = this.deps.clock.setTimeout(() => {
      this.lostRecheck = undefined;
      this.checkPid();
    }, LOST_CONNECTION_RECHECK_MS);
  }

  private apply(input: MachineInput): void {
    const now = this.deps.clock.now();
    const r = step(this.status, input, now, this.deps.paused?.() ? { ...this.machine, canRestart: false } : this.machine);
    this.status = r.status;
    for (const t of r.transitions) {
      this.deps.events.emit({ type: 'state_changed', service: this.service.name, from: t.from, to: t.to, reason: t.reason });
    }
    for (const n of r.notices) {
      this.deps.events.emit({ type: 'gave_up', service: this.service.name, reason: n.reason, data: { restarts: n.restarts, window: this.machine.window } });
    }
    for (const a of r.actions) {
      if (a.type === 'restart') this.pendingRestart = a;
    }
  }

  /** Notices a restart by someone else (an operator, systemd's own Restart=). */
  private async reconcile(): Promise<void> {
    if (!this.watch) return;
    const s = this.status.state;
    const changed = await this.watch.reconcile(s === 'starting' || s === 'unknown' || s === 'gave_up');
    if (changed && this.status.state !== 'restarting') {
      this.apply({ type: 'restarted_externally', reason: `unit restarted outside the agent (MainPID ${changed.from} -> ${changed.to})` });
      this.deps.resetRoundState();
    }
  }

  private async cycle(): Promise<void> {
    if (this.watch) this.watch.cycleProps = null;
    this.evidenceAhead = undefined;
    await this.reconcile();
    this.apply({ type: 'tick' });
    if (!this.pendingRestart && this.status.state !== 'restarting') await this.probeRound();
    // a daemon that is stopping starts no restart (the next agent adopts what it finds)
    if (this.pendingRestart && this.running) await this.restart(this.pendingRestart);
  }

  private async probeRound(): Promise<void> {
    let crash = false;
    const result = await this.deps.runRound({
      crashEvidence: async () => (crash = (await this.watch?.crashEvidence()) ?? false),
      onAttemptFailed: (a) => {
        this.apply({ type: 'attempt_failed', reason: `${a.level} probe: ${a.detail}; retrying` });
        this.readEvidenceAhead();
      },
    });
    this.lastRound = result;
    const verdict = classifyRound(result, {
      inGrace: inGrace(this.status, this.deps.clock.now()),
      crashEvidence: crash,
      stalledForMs: result.stall?.stalledForMs ?? 0,
      stallAfter: this.service.stallAfter,
      slowAfter: this.service.slowAfter,
    });
    this.apply({ type: 'round', verdict });
  }

  private readEvidenceAhead(): void {
    if (this.evidenceAhead || !this.machine.canRestart || !this.watch) return;
    const ahead = this.deps.units!.captureEvidence(this.watch.unit, null);
    ahead.catch(() => {}); // a failure is reported when (if) the restart uses it
    this.evidenceAhead = ahead;
  }

  private async restart(action: { reason: string; attempt: number }): Promise<void> {
    this.pendingRestart = null;
    const watch = this.watch!;
    this.restarting = true;
    const outcome = await runRestart(this.deps.units!, this.deps.events, {
      service: this.service.name,
      unit: watch.unit,
      reason: action.reason,
      trigger: { kind: 'automatic', attempt: action.attempt },
      evidence: this.evidenceAhead,
      known: watch.cycleProps,
    }).finally(() => {
      this.restarting = false;
    });
    this.restartFinished(outcome);
  }

  private restartFinished(outcome: RestartOutcome & { ok: boolean }): void {
    this.watch!.restarted(outcome.properties);
    this.deps.resetRoundState();
    this.apply({ type: 'restart_finished', ok: outcome.ok, reason: outcome.reason });
  }

  /**
   * A restart an operator asked for (a coordinator command), run between two cycles so it
   * never races a probe round or an automatic restart. It clears `gave_up` and the flap
   * window, so automatic restarts resume afterwards. Undefined when this service has no unit
   * (or no unit control) to restart.
   */
  async operatorRestart(commandId: string, reason: string): Promise<(RestartOutcome & { ok: boolean }) | undefined> {
    if (!this.watch) return undefined;
    const watch = this.watch;
    return this.exclusive(async () => {
      this.apply({ type: 'operator_restart', reason });
      this.pendingRestart = null;
      const outcome = await runRestart(this.deps.units!, this.deps.events, { service: this.service.name, unit: watch.unit, reason, trigger: { kind: 'operator', commandId } });
      this.restartFinished(outcome);
      // look at the new process soon, not at the old state's interval slot
      this.schedule(0);
      return outcome;
    });
  }

  /** Runs `fn` as this monitor's only activity, after the cycle in progress. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.busy) await this.busy;
    const run = fn();
    this.busy = run.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.busy = null;
    });
    return run;
  }
}
