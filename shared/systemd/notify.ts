/**
 * The sd_notify protocol for a daemon run as `Type=notify`: READY=1, STOPPING=1, WATCHDOG=1.
 *
 * Node cannot send unix datagrams, so each message is one `systemd-notify` child, spawned with
 * an argv (no shell). Its messages come from the child's PID, not the daemon's: the unit needs
 * `NotifyAccess=all` (deploy/*.service). `--pid` is no way around that: claiming another PID
 * in the socket credentials needs CAP_SYS_ADMIN, which the units drop. systemd-notify waits
 * until the manager has read the message, so the child cannot exit before systemd has
 * attributed it to the unit by its cgroup.
 *
 * Without NOTIFY_SOCKET (run by hand, under Type=exec, in tests) nothing is ever spawned.
 */
import { execFile } from 'node:child_process';

/** systemd-notify normally answers in milliseconds; one that hangs must not pile up. */
const NOTIFY_TIMEOUT_MS = 5_000;

export interface SdNotifier {
  /** false when the daemon does not run under a notify-aware service manager */
  readonly enabled: boolean;
  /** half of WatchdogSec= (systemd's own advice), or null when no watchdog is asked for */
  readonly watchdogPingMs: number | null;
  /** Sends `KEY=VALUE` lines; resolves false (never throws) when they could not be sent. */
  notify(...assignments: string[]): Promise<boolean>;
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  /** the systemd-notify binary (tests point it elsewhere) */
  command?: string;
}

export function sdNotifierFromEnv(options: NotifierOptions = {}): SdNotifier {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const command = options.command ?? 'systemd-notify';
  const enabled = Boolean(env.NOTIFY_SOCKET);
  return {
    enabled,
    watchdogPingMs: enabled ? watchdogPingMs(env, pid) : null,
    notify: (...assignments) => (enabled ? send(command, assignments, env) : Promise.resolve(false)),
  };
}

/**
 * WATCHDOG_USEC/2 in ms, as sd_watchdog_enabled() reads it: only when WATCHDOG_PID is unset
 * or names this process (a child that inherited the variables must not ping for its parent).
 */
export function watchdogPingMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2_000));
}

function send(command: string, assignments: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, assignments, { env, timeout: NOTIFY_TIMEOUT_MS, killSignal: 'SIGKILL', windowsHide: true }, (err) => resolve(!err));
  });
}
