import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { CommandMessage } from '../../shared/protocol/messages.js';
import type { EventLog } from '../events.js';
import type { RestartOutcome } from '../restart/restart-unit.js';
import type { CommandLedger } from './ledger.js';

/** What the runner needs of one configured service (a ServiceMonitor). */
export interface CommandTarget {
  readonly service: { name: string; unit?: string };
  operatorRestart(commandId: string, reason: string): Promise<(RestartOutcome & { ok: boolean }) | undefined>;
}

export interface CommandRunnerDeps {
  clock: Clock;
  logger: Logger;
  events: EventLog;
  ledger: CommandLedger;
  /** the agent's own services: nothing else is ever acted on */
  targets: readonly CommandTarget[];
}

/**
 * Runs the coordinator's commands (docs/protocol.md, `command`): each id at most once, ever —
 * a repeat (reconnect, replay, coordinator restart) is ignored, its result already being in
 * the spool. Only services of this agent's own config are restarted, with the unit that
 * config names; anything else is answered with a failed `command_result`. Results travel as
 * events, so they reach the coordinator through the same lossless spool as everything else.
 */
export class CommandRunner {
  private readonly byName: Map<string, CommandTarget>;

  constructor(private readonly deps: CommandRunnerDeps) {
    this.byName = new Map(deps.targets.map((t) => [t.service.name, t]));
  }

  /** Reports commands a previous agent process started but never finished: they are not repeated. */
  settleUnfinished(): void {
    for (const { id, service } of this.deps.ledger.unfinished()) {
      this.finish(id, service, false, 'the agent stopped while this command ran; it is not run again (check the service, then start a new job if needed)', { outcome: 'interrupted' });
    }
  }

  handle(cmd: CommandMessage): void {
    const { ledger, logger, events, clock } = this.deps;
    if (ledger.has(cmd.id)) {
      logger.info({ commandId: cmd.id, service: cmd.service }, 'command already received: not run again');
      return;
    }
    ledger.record(cmd.id, 'running', clock.now(), cmd.service);
    events.emit({ type: 'command_received', service: cmd.service, reason: `coordinator asked to ${cmd.action} ${cmd.service}`, data: { id: cmd.id, action: cmd.action } });
    const target = this.byName.get(cmd.service);
    if (!target) return this.finish(cmd.id, cmd.service, false, `refused: service ${cmd.service} is not in this agent's config`, { outcome: 'refused' });
    const unit = target.service.unit;
    if (!unit) return this.finish(cmd.id, cmd.service, false, `refused: service ${cmd.service} has no unit in this agent's config`, { outcome: 'refused' });
    void this.restart(cmd, target, unit);
  }

  private async restart(cmd: CommandMessage, target: CommandTarget, unit: string): Promise<void> {
    try {
      const outcome = await target.operatorRestart(cmd.id, `restart requested by the coordinator (command ${cmd.id})`);
      if (!outcome) return this.finish(cmd.id, cmd.service, false, `refused: this agent cannot restart units (no service manager)`, { outcome: 'refused', unit });
      this.finish(cmd.id, cmd.service, outcome.ok, outcome.reason, { outcome: outcome.kind, unit });
    } catch (err) {
      this.finish(cmd.id, cmd.service, false, `restart failed: ${(err as Error).message}`, { outcome: 'failed', unit });
    }
  }

  private finish(id: string, service: string | undefined, ok: boolean, reason: string, data: Record<string, unknown>): void {
    this.deps.events.emit({ type: 'command_result', ...(service ? { service } : {}), reason, data: { id, ok, ...data } });
    this.deps.ledger.record(id, 'done', this.deps.clock.now());
  }
}
