/**
 * Debian's monit as the baseline supervisor: a private monitrc (1 s cycle, foreground with
 * -I, no httpd, its own state/id/pid/log files) whose start/stop programs call the same
 * timestamping systemctl wrapper our agent uses. Benchmarks that need monit skip that part
 * cleanly when it is not installed (`apt-get install -y monit`).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup, stopGroup } from './proc.js';

export interface MonitInfo {
  path: string;
  version: string;
}

/** The monit binary and its version, or null when monit is not installed. */
export function findMonit(): MonitInfo | null {
  for (const path of [process.env.MONIT_BIN, '/usr/bin/monit', '/usr/local/bin/monit', '/usr/sbin/monit'].filter(Boolean) as string[]) {
    if (!existsSync(path)) continue;
    const r = spawnSync(path, ['-V'], { encoding: 'utf8', timeout: 5_000 });
    const m = /Monit version (\S+)/.exec(r.stdout ?? '');
    if (m) return { path, version: m[1]! };
  }
  return null;
}

export const MONIT_SKIP_MESSAGE = 'monit is not installed: skipping the monit baseline (Debian: apt-get install -y monit)';

export interface MonitCheck {
  name: string;
  port: number;
  path: string;
  /** a stand-in unit: gives the check start/stop programs through the wrapper */
  unit?: string;
  /** check process (matching the emulator's command line) rather than check host */
  process?: boolean;
}

export interface MonitOptions {
  monit: MonitInfo;
  dir: string;
  /** the timestamping systemctl wrapper */
  systemctl: string;
  serviceDir: string;
  checks: MonitCheck[];
  timeoutS?: number;
  /**
   * start program's timeout. monit also pauses a process check's port tests until the
   * process is this old ("connection test paused while the process is starting"), so it
   * plays the part of our startupGrace: 10 s here, like the agent's (monit's default is 30 s).
   */
  startTimeoutS?: number;
  /** monit -v (debug log lines in monit.log) */
  verbose?: boolean;
}

/** The monitrc text: `set daemon 1`, one http check per server, restart through systemctl. */
export function monitrc(o: MonitOptions): string {
  const timeout = o.timeoutS ?? 2;
  const q = (s: string) => s.replace(/"/g, '\\"');
  const program = (verb: string, unit: string) => `"/usr/bin/env LLMH_SERVICE_DIR=${q(o.serviceDir)} ${q(o.systemctl)} ${verb} ${unit}"`;
  const lines = [
    'set daemon 1',
    `set logfile ${join(o.dir, 'monit.log')}`,
    `set pidfile ${join(o.dir, 'monit.pid')}`,
    `set idfile ${join(o.dir, 'monit.id')}`,
    `set statefile ${join(o.dir, 'monit.state')}`,
    '',
  ];
  for (const c of o.checks) {
    // the emulator's argv ends in `--port N`: only it matches (ports are 5 digits here)
    lines.push(c.process ? `check process ${c.name} matching "emulate --kind [a-z]+ --port ${c.port}"` : `check host ${c.name} with address 127.0.0.1`);
    if (c.unit) {
      lines.push(`  start program = ${program('start', c.unit)} with timeout ${o.startTimeoutS ?? 10} seconds`);
      lines.push(`  stop program = ${program('stop', c.unit)} with timeout 30 seconds`);
    }
    const action = c.unit ? 'restart' : 'alert';
    lines.push(`  if failed host 127.0.0.1 port ${c.port} protocol http request "${c.path}" with timeout ${timeout} seconds then ${action}`, '');
  }
  return lines.join('\n');
}

export interface MonitRun {
  child: ChildProcess;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Writes the monitrc (0600, as monit insists), checks its syntax and runs `monit -I`. */
export function startMonit(o: MonitOptions): MonitRun {
  const rc = join(o.dir, 'monitrc');
  writeFileSync(rc, monitrc(o));
  chmodSync(rc, 0o600);
  const t = spawnSync(o.monit.path, ['-t', '-c', rc], { encoding: 'utf8', timeout: 10_000 });
  if (t.status !== 0) throw new Error(`monit -t rejected ${rc}: ${t.stdout}${t.stderr}`);
  const child = spawnGroup(o.monit.path, [...(o.verbose ? ['-v'] : []), '-I', '-c', rc], { stdio: ['ignore', 'ignore', 'ignore'], env: { PATH: '/usr/bin:/bin', HOME: o.dir } });
  return {
    child,
    pid: child.pid!,
    log: () => {
      try {
        return readFileSync(join(o.dir, 'monit.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: () => stopGroup(child, 5_000),
  };
}
