import type { Clock } from '../shared/clock.js';
import type { AgentConfig, ServiceConfig } from '../shared/config/agent-config.js';
import { createProbe } from './probes/registry.js';
import { createProbeDispatcher } from './probes/http-client.js';
import { createRoundState, runRound, type RoundState } from './probes/round.js';
import type { RoundRunner } from './monitor.js';
import { createServiceManager } from './restart/systemctl.js';
import { createRedactor, redactingUnitControl } from './restart/redact-evidence.js';
import type { UnitControl } from './unit-control.js';

/** Per-service probing handles the monitor and the check command use. */
export interface ServiceProbing {
  runRound: RoundRunner;
  /** forget deep-probe and metrics history (after a restart: a new process) */
  resetRoundState: () => void;
  /**
   * Calls `listener` whenever a pooled connection to the service's primary URL closes. When
   * the server process dies the kernel closes its end at once, so this is the earliest sign
   * of a crash; the monitor answers it with its cheap PID check.
   */
  onConnectionLost: (listener: () => void) => void;
}

export interface ProbeRuntime {
  forService(service: ServiceConfig): ServiceProbing;
  close(): Promise<void>;
}

/** One keep-alive HTTP pool for every probe of this agent; one round state per service. */
export function createProbeRuntime(deps: { clock: Clock }): ProbeRuntime {
  const dispatcher = createProbeDispatcher();
  const lostListeners = new Map<string, (() => void)[]>();
  dispatcher.on('disconnect', (origin: unknown) => {
    for (const listener of lostListeners.get(originOf(origin)) ?? []) listener();
  });
  return {
    forService(service) {
      const probe = createProbe(service, { clock: deps.clock, dispatcher });
      let state: RoundState = createRoundState();
      return {
        runRound: (hooks) => runRound(service, probe, { clock: deps.clock, state, crashEvidence: hooks.crashEvidence, onAttemptFailed: hooks.onAttemptFailed }),
        resetRoundState: () => {
          state = createRoundState();
        },
        onConnectionLost: (listener) => {
          const key = originOf(service.url);
          lostListeners.set(key, [...(lostListeners.get(key) ?? []), listener]);
        },
      };
    },
    close: () => dispatcher.close(),
  };
}

/** `http://host:port` of a URL given as a string or a URL object (undici passes either). */
function originOf(url: unknown): string {
  try {
    return new URL(String(url)).origin;
  } catch {
    return String(url);
  }
}

/**
 * systemctl limited to the units this config names (docs/configuration.md: nothing else is
 * ever run), its evidence redacted before any caller can log, spool or send it.
 */
export function createUnitControl(config: AgentConfig): UnitControl {
  const allowedUnits = [...new Set(config.services.flatMap((s) => (s.unit ? [s.unit] : [])))];
  const manager = createServiceManager({
    systemctl: config.restart.systemctl,
    allowedUnits,
    timeoutMs: config.restart.timeout,
    journal: config.restart.journal,
    journalLines: config.restart.journalLines,
  });
  return redactingUnitControl(manager, createRedactor(config.restart.redact));
}
