/**
 * The agent's hands on systemd (SPEC §4, §5): restart a unit, read its state, and capture the
 * evidence a restart destroys. Only units from the agent's own config are ever acted on, and
 * a unit name reaches systemctl as one argv element, never through a shell.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { UNIT_NAME_RE } from '../../shared/config/agent-config.js';
import { ErrorCode, LlmHealthError } from '../../shared/errors.js';
import { runCommand, type CommandOutcome } from './run-command.js';

export type { CommandOutcome } from './run-command.js';
import type { UnitProperties } from '../unit-control.js';

export interface ServiceManagerOptions {
  /** argv prefix: ['systemctl'], ['/usr/bin/systemctl'] or ['sudo', '-n', 'systemctl'] */
  systemctl: string[];
  /** the units named in the agent's config; nothing else is ever run */
  allowedUnits: string[];
  /** deadline for `systemctl restart` (it blocks until the start job is done) */
  timeoutMs: number;
  /** deadline for show and journalctl; default min(timeoutMs, 10 s) */
  queryTimeoutMs?: number;
  outputCapBytes?: number;
  journal: boolean;
  journalLines: number;
  env?: NodeJS.ProcessEnv;
  /** after SIGTERM at a deadline, how long before SIGKILL (default 2 s) */
  killGraceMs?: number;
}

export type { UnitProperties } from '../unit-control.js';

/** What is known about a unit just before a restart wipes it (SPEC §5). */
export type Evidence = {
  unit: string;
  capturedAt: string;
  properties: UnitProperties | null;
  /** last journal lines, or null when journald is not available or not readable */
  journal: string | null;
  startLimitHit: boolean;
};

export interface ServiceManager {
  restart(unit: string): Promise<CommandOutcome>;
  show(unit: string): Promise<UnitProperties | null>;
  journalTail(unit: string): Promise<string | null>;
  /** `known`: properties read moments ago in the same cycle (saves a second systemctl call) */
  captureEvidence(unit: string, known?: UnitProperties | null): Promise<Evidence>;
}

export const SHOW_PROPERTIES = ['ActiveState', 'SubState', 'NRestarts', 'MainPID', 'ExecMainStatus', 'Result'] as const;
const DEFAULT_OUTPUT_CAP = 16 * 1024;
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

export function createServiceManager(options: ServiceManagerOptions): ServiceManager {
  if (!options.systemctl.length) throw new LlmHealthError(ErrorCode.ConfigInvalid, 'restart.systemctl must name a command');
  const allowed = new Set(options.allowedUnits);
  const cap = options.outputCapBytes ?? DEFAULT_OUTPUT_CAP;
  const queryTimeoutMs = options.queryTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_QUERY_TIMEOUT_MS);
  const journalctl = journalctlFor(options.systemctl);

  const checkUnit = (unit: string): void => {
    if (typeof unit !== 'string' || !UNIT_NAME_RE.test(unit)) {
      throw new LlmHealthError(ErrorCode.UnitNameInvalid, `refusing unit name ${JSON.stringify(unit)}: not a valid systemd unit name`);
    }
    if (!allowed.has(unit)) {
      throw new LlmHealthError(ErrorCode.UnitNotAllowed, `refusing unit ${JSON.stringify(unit)}: not one of this agent's configured units`);
    }
  };
  const systemctl = (args: string[], timeoutMs: number) =>
    runCommand([...options.systemctl, ...args], { timeoutMs, outputCapBytes: cap, env: options.env, killGraceMs: options.killGraceMs });

  const show = async (unit: string): Promise<UnitProperties | null> => {
    const out = await systemctl(['show', '-p', SHOW_PROPERTIES.join(','), unit], queryTimeoutMs);
    return out.ok ? parseShowOutput(out.stdout) : null;
  };

  const journalTail = async (unit: string): Promise<string | null> => {
    if (!options.journal || options.journalLines <= 0) return null;
    // journalctl runs without the sudo prefix: reading the journal needs group membership, not root
    const out = await runCommand([journalctl, '-u', unit, '-n', String(options.journalLines), '--no-pager'], {
      timeoutMs: queryTimeoutMs,
      outputCapBytes: cap,
      keep: 'tail',
      env: options.env,
      killGraceMs: options.killGraceMs,
    });
    return out.ok ? out.stdout : null;
  };

  return {
    async restart(unit) {
      checkUnit(unit);
      return systemctl(['restart', unit], options.timeoutMs);
    },
    async show(unit) {
      checkUnit(unit);
      return show(unit);
    },
    async journalTail(unit) {
      checkUnit(unit);
      return journalTail(unit);
    },
    async captureEvidence(unit, known) {
      checkUnit(unit);
      const capturedAt = new Date().toISOString();
      const [properties, journal] = await Promise.all([known ?? show(unit), journalTail(unit)]);
      return { unit, capturedAt, properties, journal, startLimitHit: properties?.startLimitHit ?? false };
    },
  };
}

/**
 * `Key=Value` lines from `systemctl show`, in whatever order systemd prints them (it uses
 * its own order, not the one asked for). Null when the answer has no ActiveState at all.
 */
export function parseShowOutput(stdout: string): UnitProperties | null {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const activeState = kv.get('ActiveState');
  if (!activeState) return null;
  const result = kv.get('Result') ?? '';
  return {
    activeState,
    subState: kv.get('SubState') ?? '',
    nRestarts: toInt(kv.get('NRestarts')),
    mainPid: Math.max(0, toInt(kv.get('MainPID')) ?? 0),
    execMainStatus: toInt(kv.get('ExecMainStatus')),
    result,
    startLimitHit: result === 'start-limit-hit',
  };
}

function toInt(v: string | undefined): number | null {
  if (v === undefined || !/^-?\d+$/.test(v)) return null;
  return Number.parseInt(v, 10);
}

/**
 * journalctl lives next to systemctl: beside an absolute systemctl path when there is one
 * there (a test's stand-in, /usr/bin), otherwise whatever PATH finds.
 */
export function journalctlFor(systemctlPrefix: string[]): string {
  const last = systemctlPrefix.at(-1) ?? 'systemctl';
  if (isAbsolute(last)) {
    const sibling = join(dirname(last), 'journalctl');
    if (existsSync(sibling)) return sibling;
  }
  return 'journalctl';
}
