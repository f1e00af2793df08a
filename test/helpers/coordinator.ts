/**
 * An in-process coordinator for agent integration tests: its own data directory, one agent
 * token, and quick fleet timing (agentLostAfter 3s, heartbeat 1s).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/main.js';
import { parseCoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { silentLogger } from '../../shared/logger.js';

export async function startTestCoordinator(opts: { host: string; agentToken: string }): Promise<RunningCoordinator> {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-coord-'));
  const file = join(dir, 'coordinator.yaml');
  const text = `listen: ${opts.host}:0\ndataDir: ./data\nauth:\n  agentTokens: ['${opts.agentToken}']\nfleet: { agentLostAfter: 3s, heartbeatInterval: 1s }\n`;
  writeFileSync(file, text);
  return startCoordinator(parseCoordinatorConfig(file, text), { logger: silentLogger() });
}
