import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { AgentConfig } from '../shared/config/agent-config.js';
import type { GpuInfo } from '../shared/protocol/messages.js';
import { startAgent, type RunningAgent } from './agent.js';
import type { CoordinatorLink } from './link/client.js';
import type { MetricsEndpoint } from './metrics/server.js';
import { EventLog } from './events.js';
import type { GpuReading } from './gpu/nvidia-smi.js';
import { gpuProblems } from './gpu/nvidia-smi.js';
import { CommandLedger } from './commands/ledger.js';
import { CommandRunner } from './commands/runner.js';
import { MaintenancePause } from './maintenance/pause.js';

export interface AgentProcessDeps {
  clock: Clock;
  logger: Logger;
  version: string;
}

export interface AgentProcess {
  agent: RunningAgent;
  link: CoordinatorLink | null;
  /** the port of the metrics endpoint (`metrics.listen`), or null */
  metricsPort: number | null;
  stop(): Promise<void>;
}

/**
 * The daemon's composition root: the agent itself, plus the coordinator link when one is
 * configured. The link is an event sink and a reader of state; the agent keeps probing and
 * restarting whatever the link does.
 */
export async function startAgentProcess(config: AgentConfig, deps: AgentProcessDeps): Promise<AgentProcess> {
  let link: CoordinatorLink | null = null;
  let agentRef: RunningAgent | null = null;
  let commands: CommandRunner | null = null;
  const events = new EventLog(config.agent.id, deps.clock, deps.logger);
  // only a coordinator puts a host in maintenance; its window is kept beside the spool
  const pause = config.coordinator ? MaintenancePause.open(config.coordinator.spoolDir, deps.clock, deps.logger.child({ component: 'maintenance' })) : null;
  if (config.coordinator) {
    const c = config.coordinator;
    // loaded only when there is a coordinator: a standalone agent does without ws and the
    // protocol validators (several MB of resident memory)
    const { CoordinatorLink } = await import('./link/client.js');
    link = new CoordinatorLink({
      config: c,
      clock: deps.clock,
      logger: deps.logger.child({ component: 'link' }),
      events,
      source: {
        agentId: config.agent.id,
        labels: config.agent.labels,
        agentVersion: deps.version,
        services: config.services.map((s) => ({ name: s.name, kind: s.kind, url: s.url, ...(s.unit ? { unit: s.unit } : {}) })),
        snapshot: () => agentRef?.snapshot() ?? [],
        gpus: () => {
          const reading = agentRef?.gpu?.reading;
          return reading ? { at: reading.at, gpus: toGpuInfo(reading.gpus, config) } : null;
        },
      },
      onCommand: (cmd) => commands?.handle(cmd),
      onMaintenance: (msg) => pause?.apply(msg),
    });
    events.addSink(link);
  }
  // before the agent starts, so its first rounds and events are counted, and a port in use
  // stops the start before any monitor runs
  let metrics: MetricsEndpoint | null = null;
  if (config.metrics) {
    const { startMetricsEndpoint } = await import('./metrics/server.js');
    metrics = await startMetricsEndpoint(config.metrics, () => ({ snapshot: () => agentRef?.snapshot() ?? [], ...(link ? { link } : {}) }), deps.logger.child({ component: 'metrics' }));
    events.addSink(metrics.sink);
  }
  const agent = startAgent(config, { clock: deps.clock, logger: deps.logger, version: deps.version, events, ...(metrics ? { onRound: metrics.observeRound } : {}), ...(pause ? { paused: () => pause.active() } : {}) });
  agentRef = agent;
  if (config.coordinator) commands = startCommandRunner(config.coordinator.spoolDir, agent, deps);
  link?.start();
  deps.logger.info({ agentId: config.agent.id, services: config.services.length, standalone: !config.coordinator }, config.coordinator ? `agent started; coordinator ${config.coordinator.urls.join(', ')}` : 'agent started (standalone: no coordinator configured)');
  return {
    agent,
    link,
    metricsPort: metrics?.port ?? null,
    async stop() {
      await agent.stop();
      pause?.stop();
      await link?.stop();
      await metrics?.close();
    },
  };
}

/** The coordinator's commands, remembered beside the spool so that none runs twice. */
function startCommandRunner(spoolDir: string, agent: RunningAgent, deps: AgentProcessDeps): CommandRunner {
  const logger = deps.logger.child({ component: 'commands' });
  const ledger = CommandLedger.open(spoolDir, (err) => logger.error({ dir: spoolDir, err: err.message }, `cannot write the command ledger in ${spoolDir}: a command re-sent after an agent restart could run twice`));
  const runner = new CommandRunner({ clock: deps.clock, logger, events: agent.events, ledger, targets: agent.monitors });
  runner.settleUnfinished();
  return runner;
}

function toGpuInfo(readings: GpuReading[], config: AgentConfig): GpuInfo[] {
  return readings.map((g) => {
    const warnings = gpuProblems(g, config.gpu).map((p) => p.detail);
    return {
      index: g.index,
      name: g.name,
      uuid: g.uuid,
      utilizationPct: g.utilizationPercent,
      memoryUsedMiB: g.memoryUsedMiB,
      memoryTotalMiB: g.memoryTotalMiB,
      temperatureC: g.temperatureC,
      powerW: g.powerDrawW,
      powerLimitW: g.powerLimitW,
      eccUncorrected: g.eccUncorrected,
      throttleReasons: g.throttleReasons ?? [],
      healthy: warnings.length === 0,
      warnings,
    };
  });
}
