import { nanoid } from 'nanoid';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { CommandMessage, Event } from '../../shared/protocol/messages.js';
import type { FleetInput, FleetState, HostEntry } from '../fleet/types.js';
import type { EventStore } from '../store/event-store.js';
import type { JobStore } from '../store/job-store.js';
import { advanceJob, healthyAfterResult, resultUpdate } from './advance.js';
import { IN_FLIGHT, JOB_DONE, TARGET_DONE, type JobTarget, type JobUpdate, type RestartJob, type TargetUpdate } from './types.js';

export interface FleetSource {
  readonly state: FleetState;
}

export interface SchedulerDeps {
  store: JobStore;
  /** where a command_result stored before a coordinator restart is looked up */
  events: Pick<EventStore, 'listEvents'>;
  fleet: FleetSource;
  /** sends a command on the agent's connection; false when it has none */
  send(agentId: string, cmd: CommandMessage): boolean;
  clock: Clock;
  logger: Logger;
  /** every target step, as stored (the audit log) */
  onStep?: (job: RestartJob, target: JobTarget) => void;
  /** the job's own state changed (started, ended) */
  onJobState?: (job: RestartJob) => void;
  newId?: () => string;
}

/** How many of a service's latest command results are searched for a resumed job's command id. */
const RESULT_LOOKBACK = 200;

/**
 * Runs restart jobs (docs/http-api.md, restart jobs). Unfinished jobs live here and in the
 * JobStore; every change is stored before it is acted on (a command is sent only once its
 * target is stored as `restarting` with the command id). Progress comes from the fleet
 * tracker's inputs — command results, state changes, probe results, agents (re)connecting —
 * and from one timer at the earliest healthTimeout deadline. All work runs on one promise
 * chain, so two inputs never interleave their store writes.
 */
export class RestartScheduler {
  private readonly jobs = new Map<string, RestartJob>();
  private chain: Promise<void> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private started = false;
  private readonly newId: () => string;

  constructor(private readonly deps: SchedulerDeps) {
    this.newId = deps.newId ?? (() => nanoid());
  }

  /** Loads unfinished jobs (a coordinator restarted mid-job) and starts following the fleet. */
  async start(): Promise<void> {
    for (const job of await this.deps.store.unfinishedJobs()) {
      this.jobs.set(job.id, job);
      await this.resolveFromHistory(job);
    }
    this.started = true;
    for (const job of this.jobs.values()) for (const t of job.targets) if (t.state === 'restarting') this.sendCommand(t);
    this.kick();
    await this.idle();
  }

  stop(): void {
    this.stopped = true;
    this.deps.clock.clearTimeout(this.timer);
  }

  /** Resolves once the work queued so far is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Targets (host/service) of unfinished jobs that have not ended yet. */
  busyTargets(): Map<string, string> {
    const busy = new Map<string, string>();
    for (const job of this.jobs.values()) for (const t of job.targets) if (!TARGET_DONE.has(t.state)) busy.set(targetKey(t), job.id);
    return busy;
  }

  get(id: string): RestartJob | undefined {
    return this.jobs.get(id);
  }

  /**
   * Stores a new job and starts it. Rejects with JobConflictError when one of its targets is
   * still a target of another unfinished job (checked on the work chain, so two requests
   * cannot both pass the check).
   */
  async create(job: RestartJob): Promise<void> {
    await this.run(async () => {
      const busy = this.busyTargets();
      const clash = job.targets.find((t) => busy.has(targetKey(t)));
      if (clash) throw new JobConflictError(`${clash.host}/${clash.service} is a target of unfinished job ${busy.get(targetKey(clash))}`);
      await this.deps.store.createJob(job);
      this.jobs.set(job.id, job);
      await this.advance(job);
    });
  }

  /** Asks an unfinished job to stop; false when it is not running here. */
  async abort(id: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (!job) return false;
    await this.run(async () => {
      await this.save(job, { abortRequested: true }, []);
      await this.advance(job);
    });
    return true;
  }

  /**
   * An agent's report, as the hub processes it (HubDeps.observe), and its connection
   * changes. Reports arrive in the order each agent sent them, so a state change seen after
   * a command_result happened after it.
   */
  observe(input: FleetInput): void {
    if (!this.started || this.stopped || this.jobs.size === 0) return;
    const agentId = input.type === 'hello' ? input.msg.agentId : input.type === 'event' ? input.event.agentId : input.agentId;
    const host = this.deps.fleet.state.hosts.get(agentId);
    if (host) this.onInput(input, host);
  }

  private onInput(input: FleetInput, host: HostEntry): void {
    if (input.type === 'event' && input.event.type === 'command_result') {
      const event = input.event;
      this.enqueue(() => this.onResult(event));
    } else if (input.type === 'hello') {
      // a command sent while the agent was away may never have reached it: send it again (the
      // agent runs a command id at most once)
      this.enqueue(async () => {
        for (const t of this.targetsOn(host.id, 'restarting')) this.sendCommand(t);
      });
    } else if (input.type === 'event' || input.type === 'snapshot' || input.type === 'probes') {
      this.enqueue(() => this.checkHealth(host, input));
    } else this.kick();
  }

  private async onResult(event: Event): Promise<void> {
    const data = event.data as { id?: unknown; ok?: unknown } | undefined;
    if (typeof data?.id !== 'string') return;
    for (const job of this.jobs.values()) {
      const t = job.targets.find((x) => x.commandId === data.id && x.host === event.agentId && x.state === 'restarting');
      if (!t) continue;
      await this.save(job, {}, [resultUpdate(t, data.ok === true, event.reason, event.at, this.deps.clock.now())]);
      await this.checkHealth(this.deps.fleet.state.hosts.get(t.host), undefined);
      await this.advance(job);
    }
  }

  /** Waiting targets on this host reported healthy since their command's result. */
  private async checkHealth(host: HostEntry | undefined, input: FleetInput | undefined): Promise<void> {
    if (!host) return;
    const probes = input?.type === 'probes' ? input.msg.results : [];
    for (const job of this.jobs.values()) {
      const healthy = job.targets.filter((t) => {
        if (t.host !== host.id || t.state !== 'waiting') return false;
        const s = host.services.find((x) => x.name === t.service);
        if (s?.state === 'healthy' && healthyAfterResult(t, s.since)) return true;
        return probes.some((p) => p.service === t.service && p.state === 'healthy' && healthyAfterResult(t, p.at));
      });
      if (!healthy.length) continue;
      const now = this.deps.clock.now();
      await this.save(job, {}, healthy.map((t) => ({ index: t.index, state: 'healthy', endedAt: now, reason: 'reported healthy after the restart' })));
      await this.advance(job);
    }
  }

  /**
   * A resumed job's `restarting` targets: their command_result may have been stored before
   * the coordinator stopped (it will not be replayed then), so look in the event history.
   */
  private async resolveFromHistory(job: RestartJob): Promise<void> {
    for (const t of job.targets) {
      if (t.state !== 'restarting' || t.commandId === null) continue;
      const results = await this.deps.events.listEvents({ host: t.host, service: t.service, type: 'command_result', limit: RESULT_LOOKBACK });
      const found = results.find((e) => (e.data as { id?: unknown } | undefined)?.id === t.commandId);
      if (found) await this.save(job, {}, [resultUpdate(t, (found.data as { ok?: unknown }).ok === true, found.reason, found.at, this.deps.clock.now())]);
    }
  }

  private kick(): void {
    this.enqueue(async () => {
      for (const job of [...this.jobs.values()]) await this.advance(job);
    });
  }

  private async advance(job: RestartJob): Promise<void> {
    if (!this.jobs.has(job.id)) return;
    const hosts = this.deps.fleet.state.hosts;
    const step = advanceJob(job, { now: this.deps.clock.now(), connected: (h) => hosts.get(h)?.connected === true, newCommandId: this.newId });
    await this.save(job, step.job, step.targets);
    for (const t of step.dispatch) this.sendCommand(job.targets[t.index]!);
    if (JOB_DONE.has(job.state)) {
      this.jobs.delete(job.id);
      this.deps.logger.info({ jobId: job.id, state: job.state }, `restart job ${job.id} ${job.state}`);
    }
    this.armTimer();
  }

  /** Stores the changes, then applies them to the job in memory and reports them. */
  private async save(job: RestartJob, update: JobUpdate, targets: readonly TargetUpdate[]): Promise<void> {
    if (Object.keys(update).length === 0 && targets.length === 0) return;
    await this.deps.store.updateJob(job.id, update, targets);
    const stateChanged = update.state !== undefined && update.state !== job.state;
    Object.assign(job, update);
    for (const u of targets) {
      const t = job.targets[u.index]!;
      const before = t.state;
      Object.assign(t, u);
      if (t.state !== before) this.deps.onStep?.(job, t);
    }
    if (stateChanged) this.deps.onJobState?.(job);
  }

  private sendCommand(t: JobTarget): void {
    if (t.commandId === null) return;
    const sent = this.deps.send(t.host, { type: 'command', v: PROTOCOL_VERSION, id: t.commandId, action: 'restart', service: t.service });
    this.deps.logger.info({ host: t.host, service: t.service, commandId: t.commandId, sent }, sent ? 'restart command sent' : 'restart command not sent: agent not connected; sent when it reconnects');
  }

  private targetsOn(host: string, state: JobTarget['state']): JobTarget[] {
    return [...this.jobs.values()].flatMap((j) => j.targets.filter((t) => t.host === host && t.state === state));
  }

  /** One timer, at the earliest healthTimeout deadline of any in-flight target. */
  private armTimer(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    for (const job of this.jobs.values()) {
      for (const t of job.targets) if (IN_FLIGHT.has(t.state) && t.startedAt !== null) next = Math.min(next, t.startedAt + job.healthTimeout);
    }
    if (next === Infinity || this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => this.kick(), Math.max(0, next - this.deps.clock.now()));
  }

  private enqueue(fn: () => Promise<void>): void {
    void this.run(fn).catch(() => undefined);
  }

  /** Runs `fn` after the work queued before it; a failure is logged and rethrown to the caller. */
  private run(fn: () => Promise<void>): Promise<void> {
    const result = this.chain.then(fn);
    this.chain = result.catch((err: unknown) => {
      if (err instanceof JobConflictError) return;
      this.deps.logger.error({ err: (err as Error)?.message }, 'restart job step failed; it is retried at the next input');
    });
    return result;
  }
}

export class JobConflictError extends Error {}

export function targetKey(t: { host: string; service: string }): string {
  return `${t.host}\u0000${t.service}`;
}
