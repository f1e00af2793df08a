/**
 * What `systemctl show` and `systemctl status` print for a unit, in systemd's formats
 * (property order, timestamp format, "not-found" defaults) as observed on systemd 252.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { exitStatusName } from './exit-status.js';
import type { UnitState } from './state.js';
import { formatTimeSpan, START_TIMEOUT_MS, type UnitDefinition } from './units.js';

/**
 * systemd prints properties in its D-Bus order (the Service interface's, then the Unit's),
 * not in the order asked for; callers must parse by key, and so the stand-in keeps that order.
 */
const ORDER = [
  'Type', 'Restart', 'RestartUSec', 'TimeoutStartUSec', 'TimeoutStopUSec', 'MainPID', 'Result', 'NRestarts',
  'ExecMainStartTimestamp', 'ExecMainExitTimestamp', 'ExecMainPID', 'ExecMainCode', 'ExecMainStatus',
  'Id', 'Names', 'Description', 'LoadState', 'ActiveState', 'SubState', 'FragmentPath',
  'ActiveEnterTimestamp', 'InactiveEnterTimestamp',
] as const;

export function unitProperties(name: string, def: UnitDefinition | null, state: UnitState): [string, string][] {
  const values: Record<(typeof ORDER)[number], string> = {
    Type: 'simple',
    Restart: def?.restart ?? 'no',
    RestartUSec: formatTimeSpan(def?.restartSecMs ?? 100),
    TimeoutStartUSec: formatTimeSpan(START_TIMEOUT_MS),
    TimeoutStopUSec: formatTimeSpan(def?.timeoutStopMs ?? 90_000),
    MainPID: String(state.mainPid),
    Result: state.result,
    NRestarts: String(state.nRestarts),
    ExecMainStartTimestamp: formatTimestamp(state.execMainStartTimestamp),
    ExecMainExitTimestamp: formatTimestamp(state.execMainExitTimestamp),
    ExecMainPID: String(state.execMainPid),
    ExecMainCode: String(state.execMainCode),
    ExecMainStatus: String(state.execMainStatus),
    Id: name,
    Names: name,
    Description: def?.description ?? name,
    LoadState: def ? 'loaded' : 'not-found',
    ActiveState: state.activeState,
    SubState: state.subState,
    FragmentPath: def?.path ?? '',
    ActiveEnterTimestamp: formatTimestamp(state.activeEnterTimestamp),
    InactiveEnterTimestamp: formatTimestamp(state.inactiveEnterTimestamp),
  };
  return ORDER.map((k) => [k, values[k]]);
}

/** `Sat 2026-11-28 03:52:35 UTC`, in local time like systemd; empty for "never". */
export function formatTimestamp(ms: number): string {
  if (!ms) return '';
  const d = new Date(ms);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

function ago(ms: number, now: number): string {
  const span = Math.max(0, now - ms);
  return span < 1000 ? `${span}ms ago` : `${formatTimeSpan(Math.floor(span / 1000) * 1000)} ago`;
}

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function exitText(state: UnitState): string {
  if (state.execMainCode === 2) {
    const name = Object.entries(constants.signals).find(([, n]) => n === state.execMainStatus)?.[0] ?? String(state.execMainStatus);
    return `code=killed, signal=${name.replace(/^SIG/, '')}`;
  }
  return `code=exited, status=${state.execMainStatus}/${exitStatusName(state.execMainStatus)}`;
}

/** The head of `systemctl status`; the caller appends journal lines. */
export function statusText(name: string, def: UnitDefinition, state: UnitState, now = Date.now()): string {
  const bullet = state.activeState === 'failed' ? '×' : state.activeState === 'active' ? '●' : '○';
  const lines = [`${bullet} ${name}${def.description !== name ? ` - ${def.description}` : ''}`, `     Loaded: loaded (${def.path}; static)`];
  const since = state.activeState === 'failed' ? state.inactiveEnterTimestamp : state.activeEnterTimestamp;
  const when = since ? ` since ${formatTimestamp(since)}; ${ago(since, now)}` : '';
  if (state.activeState === 'failed') lines.push(`     Active: failed (Result: ${state.result})${when}`);
  else if (state.activeState === 'inactive') lines.push('     Active: inactive (dead)');
  else lines.push(`     Active: ${state.activeState} (${state.subState})${when}`);
  if (state.mainPid) lines.push(`   Main PID: ${state.mainPid} (${commandName(state.mainPid)})`);
  else if (state.execMainPid && state.execMainCode) lines.push(`   Main PID: ${state.execMainPid} (${exitText(state)})`);
  return lines.join('\n');
}
