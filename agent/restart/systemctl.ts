/**
 * The agent's hands on systemd (docs/configuration.md, docs/states-and-alerts.md): restart a unit, read its state, and capture the
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

/** What is known about a unit just before a restart wipes it (docs/states-and-alerts.md). */
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
  resetFailed(unit: string): Promise<CommandOutcome>;
  show(unit: string): Promise<UnitProperties | null>;
  journalTail(unit: string): Promise<string | null>;
  /** `known`: properties read moments ago in the same cycle (saves a second systemctl call) */
  captureEvidence(unit: string, known?: UnitProperties | null): Promise<Evidence>;
}

export const SHOW_PROPERTIES = ['ActiveState', 'SubState', 'NRestarts', 'MainPID', 'ExecMainStatus', 'Result', 'TimeoutStopUSec', 'TimeoutStartUSec', 'InvocationID'] as const;

/**
 * Every systemctl command line the agent runs (after the `restart.systemctl` prefix). The
 * privilege files (agent/privileges/) are generated from these, so a sudoers line can never
 * drift from what is actually run.
 */
export const systemctlArgs = {
  restart: (unit: string): string[] => ['restart', unit],
  show: (unit: string): string[] => ['show', '-p', SHOW_PROPERTIES.join(','), unit],
  /** before an operator's restart (a coordinator restart job): forgets the start limit */
  resetFailed: (unit: string): string[] => ['reset-failed', unit],
};
/**
 * The polkit verbs (org.freedesktop.systemd1.manage-units) behind those commands. `show` only
 * reads properties over D-Bus, which systemd grants every user without asking polkit.
 */
export const MANAGE_UNITS_VERBS = ['restart', 'reset-failed'] as const;
const DEFAULT_OUTPUT_CAP = 16 * 1024;
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
/** beyond the unit's own stop + start timeouts: systemd's bookkeeping and the client's exit */
export const RESTART_MARGIN_MS = 15_000;

/**
 * How long `systemctl restart` may block: the job waits for the stop (up to TimeoutStopSec,
 * and a busy llama.cpp server lingers after SIGTERM for all of it) and then for the start (up
 * to TimeoutStartSec). A deadline shorter than that cuts off a restart systemd is still
 * doing, and the next one restarts the fresh process again. `configuredMs` is a floor; an
 * infinite unit timeout leaves it as is (the outcome is then read from `systemctl show`).
 */
export function restartDeadline(configuredMs: number, props: Pick<UnitProperties, 'timeoutStopMs' | 'timeoutStartMs'> | null | undefined): number {
  const stop = props?.timeoutStopMs;
  const start = props?.timeoutStartMs;
  if (stop === undefined || start === undefined || !Number.isFinite(stop + start)) return configuredMs;
  return Math.max(configuredMs, stop + start + RESTART_MARGIN_MS);
}

export function createServiceManager(options: ServiceManagerOptions): ServiceManager {
  if (!options.systemctl.length) throw new LlmHealthError(ErrorCode.ConfigInvalid, 'restart.systemctl must name a command');
  const allowed = new Set(options.allowedUnits);
  const cap = options.outputCapBytes ?? DEFAULT_OUTPUT_CAP;
  const queryTimeoutMs = options.queryTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_QUERY_TIMEOUT_MS);
  const journalctl = journalctlFor(options.systemctl);
  // a user manager's units are in the user journal: `-u` would read the system's and find nothing
  const unitSelector = options.systemctl.includes('--user') ? ['--user-unit'] : ['-u'];

  const checkUnit = (unit: string): void => {
    if (typeof unit !== 'string' || !UNIT_NAME_RE.test(unit)) {
      throw new LlmHealthError(ErrorCode.UnitNameInvalid, `refusing unit name ${JSON.stringify(unit)}: not a valid systemd unit name`);
    }
    if (!allowed.has(unit)) {
      throw new LlmHealthError(ErrorCode.UnitNotAllowed, `refusing unit ${JSON.stringify(unit)}: not one of this agent's configured units`);
    }
  };
  // the unit's stop/start timeouts, from the last `show` (they change only on daemon-reload)
  const unitTimeouts = new Map<string, UnitProperties>();
  const systemctl = (args: string[], timeoutMs: number) =>
    runCommand([...options.systemctl, ...args], { timeoutMs, outputCapBytes: cap, env: options.env, killGraceMs: options.killGraceMs });

  const show = async (unit: string): Promise<UnitProperties | null> => {
    const out = await systemctl(systemctlArgs.show(unit), queryTimeoutMs);
    const props = out.ok ? parseShowOutput(out.stdout) : null;
    if (props?.timeoutStopMs !== undefined) unitTimeouts.set(unit, props);
    return props;
  };

  const journalTail = async (unit: string): Promise<string | null> => {
    if (!options.journal || options.journalLines <= 0) return null;
    // journalctl runs without the sudo prefix: reading the journal needs group membership, not root
    const out = await runCommand([journalctl, ...unitSelector, unit, '-n', String(options.journalLines), '--no-pager'], {
      timeoutMs: queryTimeoutMs,
      outputCapBytes: cap,
      keep: 'tail',
      env: options.env,
      killGraceMs: options.killGraceMs,
    });
    return out.ok ? journalText(out.stdout) : null;
  };

  return {
    async restart(unit) {
      checkUnit(unit);
      if (!unitTimeouts.has(unit)) await show(unit);
      return systemctl(systemctlArgs.restart(unit), restartDeadline(options.timeoutMs, unitTimeouts.get(unit)));
    },
    async resetFailed(unit) {
      checkUnit(unit);
      return systemctl(systemctlArgs.resetFailed(unit), queryTimeoutMs);
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
  const props: UnitProperties = {
    activeState,
    subState: kv.get('SubState') ?? '',
    nRestarts: toInt(kv.get('NRestarts')),
    mainPid: Math.max(0, toInt(kv.get('MainPID')) ?? 0),
    execMainStatus: toInt(kv.get('ExecMainStatus')),
    result,
    startLimitHit: result === 'start-limit-hit',
  };
  const invocationId = kv.get('InvocationID');
  if (invocationId) props.invocationId = invocationId;
  const stop = parseTimeSpan(kv.get('TimeoutStopUSec'));
  const start = parseTimeSpan(kv.get('TimeoutStartUSec'));
  if (stop !== undefined && start !== undefined) {
    props.timeoutStopMs = stop;
    props.timeoutStartMs = start;
  }
  return props;
}

const TIMESPAN_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time span as `systemctl show` prints one: `1min 30s`, `90s`, `500ms`, `0`, `infinity`.
 * Milliseconds (Infinity for `infinity`); undefined for anything else.
 */
export function parseTimeSpan(text: string | undefined): number | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  if (value === 'infinity') return Number.POSITIVE_INFINITY;
  if (value === '0') return 0;
  let total = 0;
  for (const part of value.split(/\s+/)) {
    const m = /^(\d+(?:\.\d+)?)(us|ms|s|min|h|d|w)$/.exec(part);
    if (!m) return undefined;
    total += Number(m[1]) * TIMESPAN_UNIT_MS[m[2]!]!;
  }
  return Math.round(total);
}

/**
 * What journalctl printed, without its own notes ("-- No entries --", "-- Logs begin at …
 * --"): those are not the unit's lines, and an answer of only notes is no journal at all.
 */
export function journalText(stdout: string): string | null {
  const lines = stdout.split('\n').filter((line) => !/^-- .* --$/.test(line.trim()));
  const text = lines.join('\n');
  return text.trim() ? text : null;
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
