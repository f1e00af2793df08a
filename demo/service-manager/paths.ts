/**
 * Layout of a stand-in service manager's state directory. Everything lives under one
 * directory so parallel tests never share a unit, a log or a call record.
 */
import { join } from 'node:path';

export const SERVICE_DIR_ENV = 'LLMH_SERVICE_DIR';

export const unitsDir = (dir: string): string => join(dir, 'units');
export const stateDir = (dir: string): string => join(dir, 'state');
export const logsDir = (dir: string): string => join(dir, 'logs');
export const unitFile = (dir: string, unit: string): string => join(unitsDir(dir), unit);
export const stateFile = (dir: string, unit: string): string => join(stateDir(dir), `${unit}.json`);
export const lockFile = (dir: string, unit: string): string => join(stateDir(dir), `${unit}.lock`);
export const logFile = (dir: string, unit: string): string => join(logsDir(dir), `${unit}.log`);
/** argv of every systemctl invocation, one JSON array per line */
export const callsLog = (dir: string): string => join(dir, 'calls.log');
/** the same for journalctl, kept apart so systemctl call assertions stay exact */
export const journalCallsLog = (dir: string): string => join(dir, 'journalctl-calls.log');

/** The state directory named by the environment, or null when it is not set. */
export function serviceDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env[SERVICE_DIR_ENV];
  return dir && dir.length > 0 ? dir : null;
}
