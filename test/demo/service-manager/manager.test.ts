import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { createServiceSandbox, freePort, httpServerScript, processExists, runCommand, signalPid, waitFor, type ServiceSandbox } from '../../helpers/service-manager.js';
import { parseUnit, splitExecLine, substituteEnv, writeUnit, parseTimeSpan, mangleUnitName } from '../../../demo/service-manager/units.js';
import { tailLines } from '../../../demo/service-manager/log-tail.js';

const node = process.execPath;
const SHOWN = 'ActiveState,SubState,NRestarts,MainPID,ExecMainStatus,ExecMainCode,Result,ActiveEnterTimestamp';

function parseShow(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await get(port)) === 'ok';
  } catch {
    return false;
  }
}

function gone(pid: number): boolean {
  try {
    signalPid(pid, 0);
    return !processExists(pid); // a zombie nobody reaps is gone for every practical purpose
  } catch {
    return true;
  }
}

describe('service-manager stand-in: unit files', () => {
  test('writeUnit quotes argv so that systemd-style parsing gives it back exactly', () => {
    const argv = ['/usr/bin/env', 'two words', 'quote"d', "single'q", 'back\\slash', '$HOME and ${PATH}', '100%', 'tab\there', 'new\nline', ';', '', '-H'];
    const sandbox = createServiceSandbox();
    try {
      const path = writeUnit(sandbox.dir, 'quoting', { execStart: argv, env: { GREETING: 'hello "world" $x 5%' } });
      const unit = parseUnit('quoting.service', path, readFileSync(path, 'utf8'));
      assert.deepEqual(substituteEnv(unit.execStart, unit.environment), argv);
      assert.deepEqual(unit.environment, { GREETING: 'hello "world" $x 5%' });
    } finally {
      rmSandbox(sandbox);
    }
  });

  test('ExecStart splitting follows systemd: quotes, escapes, prefixes, `;`, $VAR word splitting', () => {
    assert.deepEqual(splitExecLine(`-/bin/echo "a b" 'c d' e\\ f "g\\"h" \\x41`), { argv: ['/bin/echo', 'a b', 'c d', 'e f', 'g"h', 'A'], ignoreFailure: true });
    assert.deepEqual(splitExecLine('/bin/echo one ; /bin/echo two').argv, ['/bin/echo', 'one']);
    assert.deepEqual(splitExecLine('/bin/echo \\;').argv, ['/bin/echo', ';']);
    assert.deepEqual(substituteEnv(['/bin/x', '$ARGS', 'pre${ARGS}post', '$$HOME', '$MISSING'], { ARGS: 'a  b' }), ['/bin/x', 'a', 'b', 'prea  bpost', '$HOME']);
  });

  test('time spans and unit-name mangling', () => {
    assert.equal(parseTimeSpan('5', 0), 5000);
    assert.equal(parseTimeSpan('1min 30s', 0), 90_000);
    assert.equal(parseTimeSpan('250ms', 0), 250);
    assert.equal(parseTimeSpan('bogus', 7), 7);
    assert.deepEqual(mangleUnitName('llama'), { name: 'llama.service' });
    assert.deepEqual(mangleUnitName('llama.service'), { name: 'llama.service' });
    const bad = mangleUnitName('x.service; rm -rf /');
    assert.match(bad.name, /^x\.service\\x3b\\x20rm\\x20-rf\\x20-\.service$/);
    assert.equal(mangleUnitName('../../etc/passwd').name, '..-..-etc-passwd.service');
  });

  test('tailLines reads only the end of a long log', () => {
    const sandbox = createServiceSandbox();
    try {
      const file = join(sandbox.dir, 'big.log');
      const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      assert.deepEqual(tailLines(file, 3), lines.slice(-3));
      assert.deepEqual(tailLines(file, 0), []);
      assert.equal(tailLines(join(sandbox.dir, 'missing.log'), 3), null);
    } finally {
      rmSandbox(sandbox);
    }
  });
});

/** Removes the directory only: for tests that start no unit, or that test removal itself. */
function rmSandbox(s: ServiceSandbox): void {
  rmSync(s.dir, { recursive: true, force: true });
}

describe('service-manager stand-in: systemctl with real processes', () => {
  let sb: ServiceSandbox;
  let port: number;

  before(async () => {
    sb = createServiceSandbox();
    port = await freePort();
    sb.writeUnit('llama-vision-server', { execStart: [node, '-e', httpServerScript(port)] });
  });
  after(async () => {
    await sb.cleanup();
  });

  test('start runs the unit; show prints systemd-style Key=Value lines', async () => {
    const start = await sb.systemctl('start', 'llama-vision-server.service');
    assert.equal(start.code, 0, start.stderr);
    const show = await sb.systemctl('show', '-p', SHOWN, 'llama-vision-server.service');
    assert.equal(show.code, 0);
    const p = parseShow(show.stdout);
    assert.equal(p.ActiveState, 'active');
    assert.equal(p.SubState, 'running');
    assert.equal(p.Result, 'success');
    assert.equal(p.NRestarts, '0');
    assert.equal(p.ExecMainCode, '0');
    assert.match(p.MainPID!, /^[1-9]\d*$/);
    assert.match(p.ActiveEnterTimestamp!, /^[A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+$/);
    assert.equal(Number(p.MainPID), sb.mainPid('llama-vision-server.service'));
    // every line is Key=Value, in systemd's own order rather than the order asked for
    assert.deepEqual(show.stdout.trimEnd().split('\n').map((l) => l.split('=')[0]), ['MainPID', 'Result', 'NRestarts', 'ExecMainCode', 'ExecMainStatus', 'ActiveState', 'SubState', 'ActiveEnterTimestamp']);
    // `show UNIT -p X --value` works too
    const value = await sb.systemctl('show', 'llama-vision-server.service', '-p', 'MainPID', '--value');
    assert.equal(value.stdout, `${p.MainPID}\n`);
    await waitFor(() => answers(port), 5_000, 'the server to answer');
    const active = await sb.systemctl('is-active', 'llama-vision-server.service');
    assert.deepEqual([active.code, active.stdout], [0, 'active\n']);
  });

  test('a process killed with SIGKILL shows failed / signal / MainPID=0 at once', async () => {
    const pid = sb.mainPid('llama-vision-server.service');
    assert.ok(pid > 0);
    const killedAt = Date.now();
    signalPid(pid, 'SIGKILL');
    await waitFor(() => sb.state('llama-vision-server.service').activeState === 'failed', 2_000, 'failed state');
    const latency = Date.now() - killedAt;
    assert.ok(latency < 1_000, `state changed ${latency} ms after the kill`);
    const p = parseShow((await sb.systemctl('show', '-p', SHOWN, 'llama-vision-server.service')).stdout);
    assert.deepEqual([p.ActiveState, p.SubState, p.Result, p.MainPID, p.ExecMainCode, p.ExecMainStatus], ['failed', 'failed', 'signal', '0', '2', '9']);
    const isActive = await sb.systemctl('is-active', 'llama-vision-server.service');
    assert.deepEqual([isActive.code, isActive.stdout], [3, 'failed\n']);
    const status = await sb.systemctl('status', 'llama-vision-server.service');
    assert.equal(status.code, 3);
    assert.match(status.stdout, /Active: failed \(Result: signal\)/);
    assert.match(status.stdout, /code=killed, signal=KILL/);
  });

  test('restart brings up a new process, resets NRestarts, and calls.log records argv exactly', async () => {
    sb.clearCalls();
    const before = Date.now();
    const r = await sb.systemctl('restart', 'llama-vision-server.service', '--no-pager');
    assert.equal(r.code, 0, r.stderr);
    const pid = sb.mainPid('llama-vision-server.service');
    assert.ok(pid > 0 && processExists(pid), 'restart returns once the new main process runs');
    assert.ok(Date.now() - before < 5_000);
    await waitFor(() => answers(port), 5_000, 'the restarted server to answer');
    assert.deepEqual(sb.calls(), [['restart', 'llama-vision-server.service', '--no-pager']]);
    const p = parseShow((await sb.systemctl('show', '-p', 'ActiveState,Result,NRestarts', 'llama-vision-server.service')).stdout);
    assert.deepEqual(p, { Result: 'success', NRestarts: '0', ActiveState: 'active' });
  });

  test('a SIGSTOPped process stays active, and restart still replaces it promptly', async () => {
    const pid = sb.mainPid('llama-vision-server.service');
    signalPid(pid, 'SIGSTOP');
    try {
      assert.equal((await sb.systemctl('is-active', 'llama-vision-server.service')).stdout, 'active\n');
      const started = Date.now();
      assert.equal((await sb.systemctl('restart', 'llama-vision-server.service')).code, 0);
      assert.ok(Date.now() - started < 4_000, 'SIGCONT follows SIGTERM, so the stopped process does not sit out the stop timeout');
      assert.notEqual(sb.mainPid('llama-vision-server.service'), pid);
      assert.ok(gone(pid));
    } finally {
      try {
        signalPid(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  });

  test('systemctl kill: default SIGTERM is a clean stop, -s KILL a failure', async () => {
    assert.equal((await sb.systemctl('kill', 'llama-vision-server.service')).code, 0);
    await waitFor(() => sb.state('llama-vision-server.service').activeState === 'inactive', 3_000, 'inactive after SIGTERM');
    assert.equal(sb.state('llama-vision-server.service').result, 'success');
    // like systemd, a unit that went inactive is unloaded: kill and reset-failed say so
    const kill = await sb.systemctl('kill', 'llama-vision-server.service');
    assert.equal(kill.code, 1);
    assert.match(kill.stderr, /Unit llama-vision-server\.service not loaded\./);
    await sb.systemctl('start', 'llama-vision-server.service');
    assert.equal((await sb.systemctl('kill', '-s', 'KILL', 'llama-vision-server.service')).code, 0);
    await waitFor(() => sb.state('llama-vision-server.service').activeState === 'failed', 3_000, 'failed after SIGKILL');
    assert.equal(sb.state('llama-vision-server.service').result, 'signal');
    assert.equal((await sb.systemctl('reset-failed', 'llama-vision-server.service')).code, 0);
    assert.equal(sb.state('llama-vision-server.service').activeState, 'inactive');
  });

  test('stop terminates the main process, its children and the supervisor', async () => {
    sb.writeUnit('family', { execStart: ['/bin/sh', '-c', 'sleep 1000 & echo child=$!; wait'] });
    assert.equal((await sb.systemctl('start', 'family.service')).code, 0);
    const main = sb.mainPid('family.service');
    const supervisor = sb.state('family.service').supervisorPid;
    const line = await waitFor(() => readFileSync(join(sb.dir, 'logs', 'family.service.log'), 'utf8').match(/child=(\d+)/), 3_000, 'the child pid');
    const child = Number(line[1]);
    assert.ok(processExists(child));
    const stop = await sb.systemctl('stop', 'family.service');
    assert.equal(stop.code, 0);
    assert.ok(main > 0);
    assert.throws(() => signalPid(main, 0), { code: 'ESRCH' });
    await waitFor(() => gone(child) && gone(supervisor), 2_000, 'child and supervisor to go');
    const p = parseShow((await sb.systemctl('show', '-p', 'ActiveState,SubState,MainPID,Result', 'family.service')).stdout);
    assert.deepEqual(p, { MainPID: '0', Result: 'success', ActiveState: 'inactive', SubState: 'dead' });
  });

  test('a process that ignores SIGTERM is killed after TimeoutStopSec and the unit shows Result=timeout', async () => {
    sb.writeUnit('stubborn', { execStart: [node, '-e', "process.on('SIGTERM',()=>{});setInterval(()=>{},1000)"], timeoutStopSec: 300 });
    await sb.systemctl('start', 'stubborn.service');
    const pid = sb.mainPid('stubborn.service');
    await new Promise((r) => setTimeout(r, 300)); // let node install its SIGTERM handler
    const started = Date.now();
    assert.equal((await sb.systemctl('stop', 'stubborn.service')).code, 0);
    assert.ok(Date.now() - started >= 250);
    assert.ok(gone(pid));
    const p = parseShow((await sb.systemctl('show', '-p', 'ActiveState,Result,ExecMainCode,ExecMainStatus', 'stubborn.service')).stdout);
    assert.deepEqual(p, { Result: 'timeout', ExecMainCode: '2', ExecMainStatus: '9', ActiveState: 'failed' });
  });

  test('unknown units: systemd messages and exit codes', async () => {
    const restart = await sb.systemctl('restart', 'foo.service');
    assert.equal(restart.code, 5);
    assert.equal(restart.stderr, 'Failed to restart foo.service: Unit foo.service not found.\n');
    const stop = await sb.systemctl('stop', 'foo');
    assert.equal(stop.code, 5);
    assert.equal(stop.stderr, 'Failed to stop foo.service: Unit foo.service not loaded.\n');
    const status = await sb.systemctl('status', 'foo.service');
    assert.deepEqual([status.code, status.stderr], [4, 'Unit foo.service could not be found.\n']);
    const active = await sb.systemctl('is-active', 'foo.service');
    assert.deepEqual([active.code, active.stdout], [3, 'inactive\n']);
    // as on systemd, show succeeds and says not-found
    const show = await sb.systemctl('show', '-p', 'LoadState,ActiveState,MainPID', 'foo.service');
    assert.equal(show.code, 0);
    assert.deepEqual(parseShow(show.stdout), { MainPID: '0', LoadState: 'not-found', ActiveState: 'inactive' });
    const evil = await sb.systemctl('restart', 'x.service; rm -rf /');
    assert.equal(evil.code, 5);
    assert.match(evil.stderr, /Invalid unit name "x\.service; rm -rf \/" escaped as/);
    const verb = await sb.systemctl('frobnicate', 'foo.service');
    assert.deepEqual([verb.code, verb.stderr], [1, 'Unknown command verb frobnicate.\n']);
    const few = await sb.systemctl('restart');
    assert.deepEqual([few.code, few.stderr], [1, 'Too few arguments.\n']);
  });

  test('Restart=on-failure restarts a crashing unit and counts NRestarts; a manual restart resets it', async () => {
    sb.writeUnit('flaky', { execStart: ['/bin/sh', '-c', 'echo up; sleep 0.2; exit 3'], restart: 'on-failure', restartSec: 100, startLimitBurst: 100 });
    assert.equal((await sb.systemctl('start', 'flaky.service')).code, 0);
    await waitFor(() => sb.state('flaky.service').nRestarts >= 2, 5_000, 'two automatic restarts');
    const p = parseShow((await sb.systemctl('show', '-p', 'NRestarts,Result,ExecMainStatus', 'flaky.service')).stdout);
    assert.ok(Number(p.NRestarts) >= 2);
    const journal = await runCommand(join(sb.binDir, 'journalctl'), ['-u', 'flaky.service', '--no-pager'], sb.env);
    assert.match(journal.stdout, /Main process exited, code=exited, status=3\/NOTIMPLEMENTED/);
    assert.match(journal.stdout, /Scheduled restart job, restart counter is at 1\./);
    assert.equal((await sb.systemctl('restart', 'flaky.service')).code, 0);
    assert.equal(sb.state('flaky.service').nRestarts, 0);
    assert.equal((await sb.systemctl('stop', 'flaky.service')).code, 0);
  });

  test('Restart=always while waiting RestartSec shows activating / auto-restart with MainPID=0', async () => {
    sb.writeUnit('waiter', { execStart: ['/bin/sh', '-c', 'exit 0'], restart: 'always', restartSec: 2_000 });
    await sb.systemctl('start', 'waiter.service');
    await waitFor(() => sb.state('waiter.service').subState === 'auto-restart', 3_000, 'auto-restart');
    const p = parseShow((await sb.systemctl('show', '-p', 'ActiveState,SubState,MainPID,Result,ExecMainCode,ExecMainStatus', 'waiter.service')).stdout);
    assert.deepEqual(p, { MainPID: '0', Result: 'success', ExecMainCode: '1', ExecMainStatus: '0', ActiveState: 'activating', SubState: 'auto-restart' });
    const isActive = await sb.systemctl('is-active', 'waiter.service');
    assert.deepEqual([isActive.code, isActive.stdout], [3, 'activating\n']);
    assert.equal((await sb.systemctl('stop', 'waiter.service')).code, 0);
    assert.equal(sb.state('waiter.service').activeState, 'inactive');
  });

  test('the start limit: too many starts fail the job with Result=start-limit-hit; reset-failed clears it', async () => {
    sb.writeUnit('limited', { execStart: ['/bin/sleep', '1000'], startLimitBurst: 2, startLimitIntervalSec: '30s' });
    assert.equal((await sb.systemctl('start', 'limited.service')).code, 0);
    assert.equal((await sb.systemctl('restart', 'limited.service')).code, 0);
    const third = await sb.systemctl('restart', 'limited.service');
    assert.equal(third.code, 1);
    assert.match(third.stderr, /^Job for limited\.service failed because start of the service was attempted too often\./);
    const p = parseShow((await sb.systemctl('show', '-p', 'ActiveState,Result,MainPID', 'limited.service')).stdout);
    assert.deepEqual(p, { MainPID: '0', Result: 'start-limit-hit', ActiveState: 'failed' });
    assert.equal((await sb.systemctl('reset-failed', 'limited.service')).code, 0);
    assert.equal((await sb.systemctl('start', 'limited.service')).code, 0);
    assert.equal(sb.state('limited.service').activeState, 'active');
    await sb.systemctl('stop', 'limited.service');
  });

  test('a program that cannot be executed: start succeeds (Type=simple), the unit fails with 203/EXEC', async () => {
    sb.writeUnit('noexec', { execStart: ['/nonexistent/llama-server', '--port', '1'] });
    assert.equal((await sb.systemctl('start', 'noexec.service')).code, 0);
    await waitFor(() => sb.state('noexec.service').activeState === 'failed', 3_000, 'failed');
    const p = parseShow((await sb.systemctl('show', '-p', 'Result,ExecMainCode,ExecMainStatus', 'noexec.service')).stdout);
    assert.deepEqual(p, { Result: 'exit-code', ExecMainCode: '1', ExecMainStatus: '203' });
  });

  test('an exec failure under Restart=on-failure loops until stopped, and stop finds it', async () => {
    sb.writeUnit('noexec-loop', { execStart: ['/nonexistent/llama-server'], restart: 'on-failure', restartSec: 300, startLimitBurst: 1000 });
    assert.equal((await sb.systemctl('start', 'noexec-loop.service')).code, 0);
    await waitFor(() => sb.state('noexec-loop.service').subState === 'auto-restart', 3_000, 'auto-restart');
    const supervisor = sb.state('noexec-loop.service').supervisorPid;
    assert.ok(processExists(supervisor));
    assert.equal((await sb.systemctl('stop', 'noexec-loop.service')).code, 0);
    assert.equal(sb.state('noexec-loop.service').activeState, 'inactive');
    await waitFor(() => gone(supervisor), 2_000, 'the supervisor to exit');
  });

  test('units get Environment= and a service manager environment, not the caller\'s', async () => {
    sb.writeUnit('envy', { execStart: [node, '-e', 'console.log("GREETING=" + process.env.GREETING + " LEAK=" + process.env.LLMH_TEST_LEAK)'], env: { GREETING: 'hi there' } });
    await runCommand(join(sb.binDir, 'systemctl'), ['start', 'envy.service'], { ...sb.env, LLMH_TEST_LEAK: 'yes' });
    const line = await waitFor(async () => (await runCommand(join(sb.binDir, 'journalctl'), ['-u', 'envy.service', '-o', 'cat'], sb.env)).stdout.match(/GREETING=.*/), 3_000, 'output');
    assert.equal(line[0], 'GREETING=hi there LEAK=undefined');
  });

  test('journalctl -u UNIT -n N prints the last N lines; an unknown unit has no entries', async () => {
    sb.writeUnit('chatty', { execStart: ['/bin/sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done; exec sleep 1000'] });
    await sb.systemctl('start', 'chatty.service');
    await waitFor(() => readFileSync(join(sb.dir, 'logs', 'chatty.service.log'), 'utf8').includes('line 5'), 3_000, 'output');
    const j = await runCommand(join(sb.binDir, 'journalctl'), ['-u', 'chatty.service', '-n', '2', '--no-pager'], sb.env);
    assert.deepEqual([j.code, j.stdout], [0, 'line 4\nline 5\n']);
    assert.deepEqual(sb.journalCalls().at(-1), ['-u', 'chatty.service', '-n', '2', '--no-pager']);
    const none = await runCommand(join(sb.binDir, 'journalctl'), ['-u', 'nothing.service', '-n', '5', '--no-pager'], sb.env);
    assert.deepEqual([none.code, none.stdout], [0, '-- No entries --\n']);
    await sb.systemctl('stop', 'chatty.service');
  });

  test('list-units lists loaded units; daemon-reload is accepted', async () => {
    await sb.systemctl('start', 'llama-vision-server.service');
    const list = await sb.systemctl('list-units', '--no-legend', '--plain', '--no-pager');
    assert.match(list.stdout, /^llama-vision-server\.service +loaded +active +running/m);
    assert.equal((await sb.systemctl('daemon-reload')).code, 0);
  });
});

describe('service-manager stand-in: environment and teardown', () => {
  test('without LLMH_SERVICE_DIR the stand-in refuses with exit 1', async () => {
    const sb = createServiceSandbox();
    try {
      const env = { ...sb.env };
      delete env.LLMH_SERVICE_DIR;
      const r = await runCommand(join(sb.binDir, 'systemctl'), ['show', 'x.service'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /LLMH_SERVICE_DIR is not set/);
    } finally {
      await sb.cleanup();
    }
  });

  test('cleanup() stops every unit, including crash-looping ones', async () => {
    const sb = createServiceSandbox();
    sb.writeUnit('a', { execStart: ['/bin/sleep', '1000'] });
    sb.writeUnit('b', { execStart: ['/bin/sh', '-c', 'sleep 0.1; exit 1'], restart: 'always', restartSec: 50, startLimitBurst: 1000 });
    await sb.systemctl('start', 'a.service');
    await sb.systemctl('start', 'b.service');
    const pids = [sb.mainPid('a.service'), sb.state('a.service').supervisorPid, sb.state('b.service').supervisorPid];
    await sb.cleanup();
    await waitFor(() => pids.every(gone), 3_000, 'every process to go');
  });

  test('a supervisor whose state directory was deleted stops its unit on its own', async () => {
    const sb = createServiceSandbox();
    sb.writeUnit('orphan', { execStart: ['/bin/sleep', '1000'] });
    await sb.systemctl('start', 'orphan.service');
    const pid = sb.mainPid('orphan.service');
    rmSandbox(sb);
    await waitFor(() => gone(pid), 5_000, 'the orphaned unit to be stopped');
  });
});
