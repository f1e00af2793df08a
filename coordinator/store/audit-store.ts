/**
 * The audit log (docs/http-api.md, `GET /api/v1/audit`): one row per mutating call — who,
 * when, from where, what, and how it ended. Rows are written once and never changed; they
 * go only by retention (`audit.retention`), which is separate from the event retention
 * because an audit trail is usually kept longer than probe history.
 */
export type AuditOutcome = 'ok' | 'refused' | 'error';

export interface AuditRecord {
  /** epoch ms (coordinator clock) */
  at: number;
  /** the admin token's name, `system` for the coordinator's own steps, or who was refused */
  actor: string;
  /** the caller's address; null for the coordinator's own steps */
  remote: string | null;
  /** dotted name, e.g. `restart.create`, `maintenance.on` */
  action: string;
  /** what was acted on (a job id, `host/service`, a host id, a silence id) */
  target: string | null;
  /** a small JSON object; never a token, an Authorization value or a receiver URL */
  detail: Record<string, unknown>;
  outcome: AuditOutcome;
  /** the HTTP status answered (refused and error outcomes of API calls) */
  status: number | null;
}

export interface AuditEntry extends AuditRecord {
  /** increasing in the order rows were written */
  id: number;
}

export interface AuditQuery {
  /** only rows at or after this time (epoch ms) */
  since?: number;
  /** exact action name, or a prefix when it ends with `*` (`restart.*`) */
  action?: string;
  limit: number;
}

export interface AuditStore {
  /** Returns the new row's id. */
  appendAudit(record: AuditRecord): Promise<number>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Retention: deletes rows written before `before` (epoch ms); returns how many went. */
  prune(before: number): Promise<number>;
}
