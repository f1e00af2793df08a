/**
 * A real systemd for tests on a machine whose PID 1 is not systemd (CI containers and VMs):
 * the distribution's own `systemd --user` manager, unmodified, booted per test file.
 *
 * Why it needs tricks: `systemd --user` and `systemctl` both refuse to run unless
 * /run/systemd/system exists (sd_booted), and creating that on the host would make every tool
 * on the machine believe systemd is init. So the manager gets a private mount namespace with
 *   - a tmpfs on /run/systemd holding system/ (sd_booted), a user.conf.d drop-in and the
 *     inaccessible/ nodes PID 1 normally creates (ProtectHome= and friends need them);
 *   - the host's cgroup2 hierarchy alone on /sys/fs/cgroup, so it runs in unified mode inside
 *     a cgroup of its own and never touches the v1 controllers; teardown kills that cgroup;
 *   - /dev/kmsg bound to a FIFO copied into DIR/manager.log (a user manager without journald
 *     logs only to a tty, kmsg or nowhere).
 * There is no PID namespace: MainPID is a host PID a test can signal. Units inherit the
 * manager's stdout, collected in DIR/services.log. Needs root, util-linux and the systemd
 * package (installed, not running); `systemdSkipReason()` says why when it cannot start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, waitFor, type CommandResult } from './service-manager.js';

export interface SystemdSandbox {
  dir: string;
  /** where unit files go (then `daemon-reload`) */
  unitDir: string;
  /** an executable `systemctl` bound to this manager, for configs (`restart.systemctl`) */
  systemctlPath: string;
  /** a test environment whose PATH finds that systemctl first */
  env: NodeJS.ProcessEnv;
  managerPid: number;
  systemctl(...args: string[]): Promise<CommandResult>;
  /** `systemctl show -p ...` as a map */
  show(unit: string, props: string[]): Promise<Record<string, string>>;
  writeUnit(name: string, text: string): void;
  managerLog(): string;
  servicesLog(): string;
  /** stops every unit and the manager, kills what is left in its cgroup, removes DIR */
  stop(): Promise<void>;
}

const SYSTEMD_BIN = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find(existsSync);
const SYSTEMCTL_BIN = ['/usr/bin/systemctl', '/bin/systemctl'].find(existsSync);
const USER_UNITS = ['/usr/lib/systemd/user', '/lib/systemd/user'].find((d) => existsSync(join(d, 'basic.target')));
const CGROUP2_ROOT = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((d) => existsSync(join(d, 'cgroup.controllers')));
/** a manager comes up in about 0.6 s; a loaded 2-core machine has been seen at 3.5 s */
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
const UNIT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why no manager can be booted here (null when it is worth trying). */
export function systemdSkipReason(): string | null {
  if (process.platform !== 'linux') return 'a systemd manager needs Linux';
  if (process.getuid?.() !== 0) return 'booting a systemd manager needs root (mount namespace, cgroups)';
  if (!SYSTEMD_BIN || !SYSTEMCTL_BIN || !USER_UNITS) return 'the systemd package is not installed (apt-get install systemd)';
  if (!CGROUP2_ROOT) return 'no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified';
  for (const tool of ['unshare', 'nsenter']) if (spawnSync(tool, ['--version']).status !== 0) return `${tool} is missing (util-linux)`;
  return null;
}

/**
 * Runs inside the new mount namespace as the manager's future PID, then becomes systemd.
 * Positional: DIR CGROUP_NAME CGROUP2_ROOT SYSTEMD UNIT_PATH OWNER_PID.
 */
const INNER = String.raw`set -eu
d=$1 cgname=$2 cg2=$3 sd=$4 unitpath=$5 owner=$6
echo $$ > "$cg2/$cgname/cgroup.procs"
# only created when absent: an empty /run/systemd (no system/ inside) tells nobody anything
[ -d /run/systemd ] || mkdir -p /run/systemd
mount -n -t tmpfs -o mode=0755,size=64m llmh-systemd /run/systemd
mkdir -p /run/systemd/system /run/systemd/user.conf.d /run/systemd/inaccessible
mkdir -m 0000 /run/systemd/inaccessible/dir
: > /run/systemd/inaccessible/reg; chmod 0000 /run/systemd/inaccessible/reg
mkfifo -m 0000 /run/systemd/inaccessible/fifo
mknod -m 0000 /run/systemd/inaccessible/chr c 0 0
mknod -m 0000 /run/systemd/inaccessible/blk b 0 0
printf '[Manager]\nDefaultStandardOutput=inherit\nDefaultStandardError=inherit\nDefaultTimeoutStartSec=30s\nDefaultTimeoutStopSec=10s\n' > /run/systemd/user.conf.d/50-llmh-test.conf
[ "$cg2" = /sys/fs/cgroup ] || mount -n --bind "$cg2" /sys/fs/cgroup
mkfifo -m 600 "$d/kmsg.fifo"
mount -n --bind "$d/kmsg.fifo" /dev/kmsg
# read-write open: no EOF between systemd's writes, and its open never blocks
cat 0<>"$d/kmsg.fifo" >> "$d/manager.log" &
# the manager runs in its own session and would outlive a test runner killed before its
# teardown: this guard (outside the cgroup, so it survives the kill) takes the whole cgroup
# down once the runner is gone, and ends by itself once a normal teardown removed it
sh -c 'echo $$ > /sys/fs/cgroup/cgroup.procs; trap "" TERM HUP INT
  while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done
  [ -d "$2" ] || exit 0
  echo 1 > "$2/cgroup.kill"; sleep 1; find "$2" -depth -type d -exec rmdir {} +' \
  llmh-systemd-guard "$owner" "/sys/fs/cgroup/$cgname" </dev/null >/dev/null 2>&1 &
cd /
exec env -i ${UNIT_PATH_ENV} HOME=/root LANG=C.UTF-8 USER=root LOGNAME=root SHELL=/bin/sh \
  XDG_RUNTIME_DIR="$d/run" XDG_CONFIG_HOME="$d/config" XDG_CACHE_HOME="$d/cache" XDG_STATE_HOME="$d/state" \
  SYSTEMD_UNIT_PATH="$unitpath" "$sd" --user --log-target=kmsg --log-level=info --log-color=no
`;

/** systemctl refuses to run where sd_booted() is false: it joins the manager's mount namespace. */
function wrapperScript(dir: string, pid: number, unitPath: string): string {
  return `#!/bin/sh
# systemctl bound to the test systemd manager in ${dir} (test/helpers/systemd.ts)
export XDG_RUNTIME_DIR='${dir}/run' XDG_CONFIG_HOME='${dir}/config' SYSTEMD_UNIT_PATH='${unitPath}'
export DBUS_SESSION_BUS_ADDRESS='unix:path=${dir}/run/bus' SYSTEMD_PAGER= SYSTEMD_COLORS=0
exec nsenter --mount=/proc/${pid}/ns/mnt --wd="$PWD" -- ${SYSTEMCTL_BIN} --user "$@"
`;
}

/**
 * Boots a manager; throws with the manager's log when it does not come up. Call `stop()` in
 * `after()` (the guard also stops it if the test process dies first).
 */
export async function startSystemd(): Promise<SystemdSandbox> {
  const reason = systemdSkipReason();
  if (reason) throw new Error(reason);
  // short: DIR/run/systemd/private must fit in a unix socket path (108 bytes)
  const dir = mkdtempSync('/tmp/llmh-sd.');
  const cgroupName = `llmh-test-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  const cgroup = join(CGROUP2_ROOT!, cgroupName);
  const unitDir = join(dir, 'config', 'systemd', 'user');
  const unitPath = `${unitDir}:${USER_UNITS}`;
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  mkdirSync(join(dir, 'bin'));
  mkdirSync(cgroup);
  writeFileSync(join(dir, 'manager.log'), '');
  const out = openSync(join(dir, 'services.log'), 'a');
  let child: ChildProcess;
  try {
    // detached = setsid: the manager ignores the runner's terminal and process-group signals
    child = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', INNER, 'llmh-systemd', dir, cgroupName, CGROUP2_ROOT!, SYSTEMD_BIN!, unitPath, String(process.pid)], {
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.unref();
  const pid = child.pid!;
  const systemctlPath = join(dir, 'bin', 'systemctl');
  writeFileSync(systemctlPath, wrapperScript(dir, pid, unitPath));
  chmodSync(systemctlPath, 0o755);
  const env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, XDG_RUNTIME_DIR: join(dir, 'run') };
  const systemctl = (...args: string[]) => runCommand(systemctlPath, args, env);
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGTERM to a user manager = exit.target: every unit stops in order, then the manager
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const timer = new AbortController();
        await Promise.race([exited, sleep(STOP_TIMEOUT_MS, undefined, { signal: timer.signal }).catch(() => {})]);
        timer.abort();
      }
      await killCgroup(cgroup);
      rmSync(dir, { recursive: true, force: true });
    })());

  const sandbox: SystemdSandbox = {
    dir,
    unitDir,
    systemctlPath,
    env,
    managerPid: pid,
    systemctl,
    async show(unit, props) {
      const r = await systemctl('show', '-p', props.join(','), unit);
      if (r.code !== 0) throw new Error(`systemctl show ${unit}: ${r.stderr}`);
      const map: Record<string, string> = {};
      for (const line of r.stdout.trim().split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) map[line.slice(0, eq)] = line.slice(eq + 1);
      }
      return map;
    },
    writeUnit: (name, text) => writeFileSync(join(unitDir, name), text),
    managerLog: () => read('manager.log'),
    servicesLog: () => read('services.log'),
    stop,
  };

  const started = Date.now();
  try {
    await waitFor(() => existsSync(join(dir, 'run', 'systemd', 'private')) || child.exitCode !== null, START_TIMEOUT_MS, 'the manager socket');
    if (child.exitCode !== null) throw new Error(`the manager exited at once (status ${child.exitCode})`);
    const left = Math.max(1_000, START_TIMEOUT_MS - (Date.now() - started));
    const state = await runCommand(systemctlPath, ['is-system-running', '--wait'], env, left);
    if (!/^(running|degraded)$/.test(state.stdout.trim())) throw new Error(`the manager did not come up: ${state.stdout.trim() || state.stderr.trim()}`);
  } catch (err) {
    const log = `${sandbox.managerLog().split('\n').slice(-20).join('\n')}\n${sandbox.servicesLog().split('\n').slice(-20).join('\n')}`;
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return sandbox;
}

/**
 * Boots a manager for one test file, or returns why not. Where the environment promises one
 * (LLMH_REQUIRE_SYSTEMD=1, set by .ci/run), a manager that cannot start fails the file
 * instead of skipping it, so CI never passes by skipping its systemd tests.
 */
export async function systemdForTests(): Promise<{ sandbox: SystemdSandbox; skip: false } | { sandbox: null; skip: string }> {
  const required = process.env.LLMH_REQUIRE_SYSTEMD === '1';
  const reason = systemdSkipReason();
  if (reason) {
    if (required) throw new Error(`LLMH_REQUIRE_SYSTEMD=1 but ${reason}`);
    process.stderr.write(`# real-systemd tests skipped: ${reason}\n`);
    return { sandbox: null, skip: reason };
  }
  try {
    return { sandbox: await startSystemd(), skip: false };
  } catch (err) {
    if (required) throw err;
    const why = `systemd did not start: ${(err as Error).message}`;
    process.stderr.write(`# real-systemd tests skipped: ${why}\n`);
    return { sandbox: null, skip: why.split('\n')[0]! };
  }
}

/** Kills every process left in the sandbox cgroup, then removes its directories. */
async function killCgroup(cgroup: string): Promise<void> {
  if (!existsSync(cgroup)) return;
  const dirs = (): string[] => {
    const out: string[] = [];
    const walk = (d: string) => {
      out.push(d);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    };
    walk(cgroup);
    return out.reverse(); // deepest first, for rmdir
  };
  const populated = () => dirs().some((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() !== '');
  await waitFor(
    () => {
      if (!populated()) return true;
      writeFileSync(join(cgroup, 'cgroup.kill'), '1');
      return false;
    },
    5_000,
    `cgroup ${cgroup} to empty`,
  );
  // a cgroup is removable only once the kernel has reaped its last task: retry briefly
  await waitFor(
    () => {
      for (const d of dirs()) {
        try {
          rmdirSync(d);
        } catch {
          /* still busy */
        }
      }
      return !existsSync(cgroup);
    },
    5_000,
    `cgroup ${cgroup} removed`,
  );
}
