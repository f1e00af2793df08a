import type { Clock } from '../shared/clock.js';
import type { AgentConfig, ServiceConfig } from '../shared/config/agent-config.js';
import { createProbe } from './probes/registry.js';
import { createProbeDispatcher } from './probes/http-client.js';
import { createRoundState, runRound, type RoundState } from './probes/round.js';
import type { RoundRunner } from './monitor.js';
import { createServiceManager } from './restart/systemctl.js';
import type { UnitControl } from './unit-control.js';

/** Per-service probing handles the monitor and the check command use. */
export interface ServiceProbing {
  runRound: RoundRunner;
  /** forget deep-probe and metrics history (after a restart: a new process) */
  resetRoundState: () => void;
}

export interface ProbeRuntime {
  forService(service: ServiceConfig): ServiceProbing;
  close(): Promise<void>;
}

/** One keep-alive HTTP pool for every probe of this agent; one round state per service. */
export function createProbeRuntime(deps: { clock: Clock }): ProbeRuntime {
  const dispatcher = createProbeDispatcher();
  return {
    forService(service) {
      const probe = createProbe(service, { clock: deps.clock, dispatcher });
      let state: RoundState = createRoundState();
      return {
        runRound: (hooks) => runRound(service, probe, { clock: deps.clock, state, crashEvidence: hooks.crashEvidence, onAttemptFailed: hooks.onAttemptFailed }),
        resetRoundState: () => {
          state = createRoundState();
        },
      };
    },
    close: () => dispatcher.close(),
  };
}

/** systemctl limited to the units this config names (SPEC §4: nothing else is ever run). */
export function createUnitControl(config: AgentConfig): UnitControl {
  const allowedUnits = [...new Set(config.services.flatMap((s) => (s.unit ? [s.unit] : [])))];
  return createServiceManager({
    systemctl: config.restart.systemctl,
    allowedUnits,
    timeoutMs: config.restart.timeout,
    journal: config.restart.journal,
    journalLines: config.restart.journalLines,
  });
}
