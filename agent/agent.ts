import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { AgentConfig } from '../shared/config/agent-config.js';
import { EventLog, type EventSink } from './events.js';
import { PID_WATCH_MS, ServiceMonitor, type RoundRunner, type ServiceSnapshot } from './monitor.js';
import { createProbeRuntime, createUnitControl, type ProbeRuntime } from './wiring.js';
import { GpuMonitor } from './gpu-monitor.js';
import { Pacer } from './pacer.js';
import { stuckCycle } from './liveness.js';
import type { UnitControl } from './unit-control.js';
import type { RoundResult } from './probes/types.js';

export interface AgentDeps {
  clock: Clock;
  logger: Logger;
  /** overrides for tests */
  units?: UnitControl;
  bootId?: string;
  /** the event log to use (the daemon creates it first so the link can subscribe) */
  events?: EventLog;
  /** extra event sinks (the coordinator link's spool) */
  sinks?: EventSink[];
  version?: string;
  /** sees every finished probe round (the metrics endpoint's histogram) */
  onRound?: (service: { name: string; kind: string }, result: RoundResult) => void;
  /** true while the host is in maintenance (agent/maintenance/pause.ts) */
  paused?: () => boolean;
}

export interface RunningAgent {
  readonly events: EventLog;
  readonly monitors: ServiceMonitor[];
  readonly gpu: GpuMonitor | null;
  snapshot(): ServiceSnapshot[];
  /** null while every probe cycle turns within its budget (agent/liveness.ts) */
  liveness(): string | null;
  stop(): Promise<void>;
}

/**
 * The agent's composition: one ServiceMonitor per configured service, sharing one probe
 * runtime (keep-alive HTTP pool) and one unit control limited to the config's own units.
 * It adopts whatever is running: nothing is restarted merely because the agent started.
 */
export function startAgent(config: AgentConfig, deps: AgentDeps): RunningAgent {
  const { clock, logger } = deps;
  const events = deps.events ?? new EventLog(config.agent.id, clock, logger, { bootId: deps.bootId });
  for (const sink of deps.sinks ?? []) events.addSink(sink);
  // with restarts disabled the units are still watched: crash evidence and the PID watch make
  // a crash `down` at once instead of after every retry (the monitors never restart them)
  const hasUnits = config.services.some((s) => s.unit);
  const units = deps.units ?? (hasUnits ? createUnitControl(config) : undefined);
  const probes: ProbeRuntime = createProbeRuntime({ clock });
  // one phase for all of this agent's services, a different one for each agent of a fleet
  const pacer = new Pacer(clock, Math.floor(Math.random() * 1_000));
  const monitors = config.services.map((service) => {
    const probing = probes.forService(service);
    const monitor = new ServiceMonitor(service, {
      clock,
      logger: logger.child({ service: service.name }),
      events,
      units,
      restart: config.restart,
      pacer,
      runRound: deps.onRound ? observed(service, probing.runRound, deps.onRound) : probing.runRound,
      resetRoundState: probing.resetRoundState,
      ...(deps.paused ? { paused: deps.paused } : {}),
    });
    // a closed keep-alive connection may be a dead server: look at its PID now rather than
    // at the next PID-watch tick
    if (units && service.unit) probing.onConnectionLost(() => monitor.connectionLost());
    return monitor;
  });
  events.emit({
    type: 'agent_started',
    reason: `agent ${config.agent.id} started with ${monitors.length} service(s)`,
    data: { version: deps.version, services: config.services.map((s) => ({ name: s.name, kind: s.kind, url: s.url, unit: s.unit })), labels: config.agent.labels },
  });
  const gpu = config.gpu.enabled === false ? null : new GpuMonitor(config.gpu, { clock, logger, events });
  gpu?.start();
  for (const m of monitors) m.start();
  // one PID watch for every service, on the same grid as the rounds (fewer wake-ups)
  let stopPidWatch: (() => void) | undefined;
  const watchPids = () => {
    for (const m of monitors) m.checkPid();
    stopPidWatch = pacer.atNext(PID_WATCH_MS, watchPids);
  };
  if (units && monitors.some((m) => m.service.unit)) stopPidWatch = pacer.atNext(PID_WATCH_MS, watchPids);
  return {
    events,
    monitors,
    gpu,
    snapshot: () => monitors.map((m) => m.snapshot()),
    liveness: () => stuckCycle(monitors, clock.now()),
    async stop() {
      stopPidWatch?.();
      await Promise.all(monitors.map((m) => m.stop()));
      pacer.stop();
      await gpu?.stop();
      await probes.close();
    },
  };
}

function observed(service: { name: string; kind: string }, run: RoundRunner, onRound: NonNullable<AgentDeps['onRound']>): RoundRunner {
  return async (hooks) => {
    const result = await run(hooks);
    onRound(service, result);
    return result;
  };
}
