import type { ServiceConfig } from '../../shared/config/agent-config.js';

/** The user the shipped units, timer and cron line run the agent as (deploy/install.sh creates it). */
export const SERVICE_USER = 'llm-health';

/** Every unit the config restarts, once each, in the order the services name them. */
export function configuredUnits(services: readonly Pick<ServiceConfig, 'unit'>[]): string[] {
  return [...new Set(services.flatMap((s) => (s.unit ? [s.unit] : [])))];
}
