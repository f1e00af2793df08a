/**
 * The agents the coordinator knows: what each said in its last `hello` and whether it is
 * connected now. The fleet state is rebuilt from this at startup.
 */
export interface FleetStore {
  /**
   * Records (or refreshes) an agent from its `hello`: boot, labels and version are
   * replaced, the agent is connected and last seen at `at`; `firstSeen` is kept.
   */
  recordHello(agent: AgentHello, at: number): Promise<void>;
  /** `lastSeen` never moves backwards; an agent never recorded stays unknown. */
  setConnected(agentId: string, connected: boolean, at: number): Promise<void>;
  /** At startup: nobody is connected to a coordinator that just started. */
  markAllDisconnected(): Promise<void>;
  /** By id. */
  listAgents(): Promise<AgentRecord[]>;
  /** An admin forgot a retired host: its record goes (its events stay in the history); false when unknown. */
  forgetAgent(agentId: string): Promise<boolean>;
}

export interface AgentHello {
  id: string;
  bootId: string;
  labels: Record<string, string>;
  agentVersion: string;
}

export interface AgentRecord extends AgentHello {
  firstSeen: number;
  lastSeen: number;
  connected: boolean;
}
