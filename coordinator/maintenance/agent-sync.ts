import type { Logger } from '../../shared/logger.js';
import { agentUnderstandsMaintenance, PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { MaintenanceMessage } from '../../shared/protocol/messages.js';
import type { FleetInput, FleetState } from '../fleet/types.js';
import type { MaintenanceBook } from './book.js';

export interface AgentSyncDeps {
  book: Pick<MaintenanceBook, 'active'>;
  fleet: { readonly state: FleetState };
  /** on the agent's connection; false when it has none */
  send(agentId: string, msg: MaintenanceMessage): boolean;
  logger: Logger;
}

/**
 * Tells agents their host's maintenance window (docs/protocol.md, `maintenance`): after each
 * `snapshot` (so every (re)connect, also after a coordinator restart, sets the agent right,
 * including an `off` it missed while away) and whenever the window changes. Agents older than
 * MAINTENANCE_MIN_AGENT_VERSION are never sent it: they would close the link on an unknown
 * type. Their alerts are still muted and restart jobs still skip them; only their own
 * automatic restarts go on.
 */
export class MaintenanceAgentSync {
  constructor(private readonly deps: AgentSyncDeps) {}

  /** HubDeps.observe: a snapshot means the agent has just (re)connected and been welcomed. */
  observe(input: FleetInput): void {
    if (input.type === 'snapshot') this.tell(input.agentId);
  }

  tell(host: string): void {
    const entry = this.deps.fleet.state.hosts.get(host);
    if (!entry?.connected) return;
    if (!agentUnderstandsMaintenance(entry.agentVersion)) {
      if (this.deps.book.active(host)) this.deps.logger.warn({ host, agentVersion: entry.agentVersion }, 'agent too old for maintenance: its automatic restarts are not paused (alerts are muted, restart jobs skip it)');
      return;
    }
    const m = this.deps.book.active(host);
    const msg: MaintenanceMessage = m ? { type: 'maintenance', v: PROTOCOL_VERSION, until: new Date(m.until).toISOString(), comment: m.comment.slice(0, 1024) } : { type: 'maintenance', v: PROTOCOL_VERSION, until: null };
    this.deps.send(host, msg);
  }
}
