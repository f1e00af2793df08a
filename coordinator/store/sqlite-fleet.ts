import type Database from 'better-sqlite3';
import type { AgentHello, AgentRecord, FleetStore } from './fleet-store.js';

type Stmt = Database.Statement;

interface AgentRow {
  id: string;
  boot_id: string;
  labels: string;
  agent_version: string;
  first_seen: number;
  last_seen: number;
  connected: number;
}

/** The `agents` table (schema step 1). */
export class SqliteFleetTables implements FleetStore {
  private readonly stmt: Record<'upsertAgent' | 'setConnected' | 'disconnectAll' | 'touchAgent' | 'listAgents' | 'forgetAgent', Stmt>;

  constructor(db: Database.Database) {
    this.stmt = {
      upsertAgent: db.prepare(
        `INSERT INTO agents (id, boot_id, labels, agent_version, first_seen, last_seen, connected)
         VALUES (@id, @bootId, @labels, @agentVersion, @at, @at, 1)
         ON CONFLICT (id) DO UPDATE SET boot_id = excluded.boot_id, labels = excluded.labels,
           agent_version = excluded.agent_version, last_seen = excluded.last_seen, connected = 1`,
      ),
      setConnected: db.prepare('UPDATE agents SET connected = ?, last_seen = MAX(last_seen, ?) WHERE id = ?'),
      disconnectAll: db.prepare('UPDATE agents SET connected = 0 WHERE connected <> 0'),
      touchAgent: db.prepare('UPDATE agents SET last_seen = MAX(last_seen, ?) WHERE id = ?'),
      listAgents: db.prepare('SELECT * FROM agents ORDER BY id'),
      forgetAgent: db.prepare('DELETE FROM agents WHERE id = ?'),
    };
  }

  async recordHello(agent: AgentHello, at: number): Promise<void> {
    this.stmt.upsertAgent.run({ id: agent.id, bootId: agent.bootId, labels: JSON.stringify(agent.labels), agentVersion: agent.agentVersion, at });
  }

  async setConnected(agentId: string, connected: boolean, at: number): Promise<void> {
    this.stmt.setConnected.run(connected ? 1 : 0, at, agentId);
  }

  async markAllDisconnected(): Promise<void> {
    this.stmt.disconnectAll.run();
  }

  async forgetAgent(agentId: string): Promise<boolean> {
    return this.stmt.forgetAgent.run(agentId).changes === 1;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (this.stmt.listAgents.all() as AgentRow[]).map((r) => ({
      id: r.id,
      bootId: r.boot_id,
      labels: JSON.parse(r.labels) as Record<string, string>,
      agentVersion: r.agent_version,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      connected: r.connected !== 0,
    }));
  }

  /**
   * The agent was heard from at `at` (`lastSeen` never moves backwards). Synchronous, so
   * the event tables call it inside their append transaction.
   */
  touch(agentId: string, at: number): void {
    this.stmt.touchAgent.run(at, agentId);
  }
}
