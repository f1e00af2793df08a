import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServiceManager, journalctlFor, journalText, parseShowOutput, SHOW_PROPERTIES, type ServiceManager, type ServiceManagerOptions } from '../../../agent/restart/systemctl.js';
import { runCommand } from '../../../agent/restart/run-command.js';
import type { UnitControl } from '../../../agent/unit-control.js';
import { ErrorCode, LlmHealthError } from '../../../shared/errors.js';
import { createServiceSandbox, processExists, signalPid, waitFor, type ServiceSandbox } from '../../helpers/service-manager.js';

const UNIT = 'llama-vision-server.service';
const node = process.execPath;

function manager(sb: ServiceSandbox, overrides: Partial<ServiceManagerOptions> = {}): ServiceManager {
  return createServiceManager({ systemctl: ['systemctl'], allowedUnits: [UNIT], timeoutMs: 30_000, journal: true, journalLines: 50, env: sb.env, ...overrides });
}

/** An executable sh script in a fresh temp dir (a misbehaving "systemctl"). */
function script(body: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-fake-systemctl-'));
  const path = join(dir, 'systemctl');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, dir };
}

describe('restart executor against the service-manager stand-in', () => {
  let sb: ServiceSandbox;
  let sm: ServiceManager;

  before(async () => {
    sb = createServiceSandbox();
    // prints a few lines, as a model server does while it loads, then serves until killed
    sb.writeUnit(UNIT, { execStart: [node, '-e', "console.log('llama server: loading model');console.error('llama server: warning: slow disk');console.log('llama server: listening');setInterval(()=>{},1000)"] });
    assert.equal((await sb.systemctl('start', UNIT)).code, 0);
    sm = manager(sb);
  });
  after(async () => {
    await sb.cleanup();
  });

  test('fits the UnitControl interface the monitor consumes', () => {
    const control: UnitControl = sm;
    assert.equal(typeof control.restart, 'function');
  });

  test('show runs exactly `show -p … UNIT` and parses the properties', async () => {
    sb.clearCalls();
    const props = await sm.show(UNIT);
    assert.deepEqual(sb.calls(), [['show', '-p', 'ActiveState,SubState,NRestarts,MainPID,ExecMainStatus,Result,TimeoutStopUSec,TimeoutStartUSec,InvocationID', UNIT]]);
    assert.ok(props);
    assert.equal(props.activeState, 'active');
    assert.equal(props.subState, 'running');
    assert.equal(props.nRestarts, 0);
    assert.equal(props.mainPid, sb.mainPid(UNIT));
    assert.ok(props.mainPid > 0);
    assert.equal(props.result, 'success');
    assert.equal(props.startLimitHit, false);
  });

  test('evidence captured before a restart keeps the crash: Result=signal and the journal lines', async () => {
    await waitFor(() => readFileSync(join(sb.dir, 'logs', `${UNIT}.log`), 'utf8').includes('listening'), 3_000, 'server output');
    const oldPid = sb.mainPid(UNIT);
    signalPid(oldPid, 'SIGKILL');
    await waitFor(() => sb.state(UNIT).activeState === 'failed', 3_000, 'the crash to be recorded');
    sb.clearCalls();

    const evidence = await sm.captureEvidence(UNIT);
    const outcome = await sm.restart(UNIT);

    assert.equal(evidence.unit, UNIT);
    assert.ok(!Number.isNaN(Date.parse(evidence.capturedAt)));
    assert.deepEqual(
      { ...evidence.properties },
      { activeState: 'failed', subState: 'failed', nRestarts: 0, mainPid: 0, execMainStatus: 9, result: 'signal', startLimitHit: false, timeoutStopMs: 5_000, timeoutStartMs: 20_000 },
    );
    assert.ok(evidence.journal);
    assert.match(evidence.journal, /llama server: loading model/);
    assert.match(evidence.journal, /llama server: warning: slow disk/);
    assert.match(evidence.journal, /Main process exited, code=killed, status=9\/KILL/);
    assert.equal(evidence.startLimitHit, false);
    assert.deepEqual(sb.journalCalls(), [['-u', UNIT, '-n', '50', '--no-pager']]);

    assert.equal(outcome.ok, true, outcome.stderr);
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.timedOut, false);
    assert.deepEqual(outcome.argv, ['systemctl', 'restart', UNIT]);
    // the show for the evidence, then exactly the restart: nothing else ran
    assert.deepEqual(sb.calls(), [['show', '-p', SHOW_PROPERTIES.join(','), UNIT], ['restart', UNIT]]);
    const newPid = sb.mainPid(UNIT);
    assert.ok(newPid > 0 && newPid !== oldPid && processExists(newPid));
  });

  test('restart runs exactly ["restart", UNIT] and reports how it went', async () => {
    sb.clearCalls();
    const before = sb.mainPid(UNIT);
    const outcome = await sm.restart(UNIT);
    assert.deepEqual(sb.calls(), [['restart', UNIT]]);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.signal, null);
    assert.equal(outcome.stdoutTruncated || outcome.stderrTruncated, false);
    assert.ok(outcome.durationMs >= 0 && outcome.durationMs < 30_000);
    assert.notEqual(sb.mainPid(UNIT), before);
  });

  test('unit names that are not valid, or not this agent\'s, are refused before anything runs', async () => {
    sb.clearCalls();
    const invalid = ['x.service; rm -rf /', '$(id).service', '-H.service', '../../etc/passwd', 'a b.service', '', 'llama\n.service', '`id`.service'];
    for (const unit of invalid) {
      const all = createServiceManager({ systemctl: ['systemctl'], allowedUnits: [UNIT, unit], timeoutMs: 5_000, journal: true, journalLines: 10, env: sb.env });
      for (const call of [() => all.restart(unit), () => all.show(unit), () => all.journalTail(unit), () => all.captureEvidence(unit)]) {
        await assert.rejects(call, (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.UnitNameInvalid, `unit ${JSON.stringify(unit)}`);
      }
    }
    for (const unit of ['sshd.service', 'qwen3-vl-server.service', 'llama-vision-server']) {
      for (const call of [() => sm.restart(unit), () => sm.show(unit), () => sm.journalTail(unit), () => sm.captureEvidence(unit)]) {
        await assert.rejects(call, (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.UnitNotAllowed, `unit ${unit}`);
      }
    }
    assert.deepEqual(sb.calls(), []);
    assert.deepEqual(sb.journalCalls(), []);
  });

  test('a configured unit that is not installed: the outcome carries systemctl\'s exit 5 and message', async () => {
    const ghost = createServiceManager({ systemctl: ['systemctl'], allowedUnits: ['ghost.service'], timeoutMs: 10_000, journal: true, journalLines: 5, env: sb.env });
    const outcome = await ghost.restart('ghost.service');
    assert.equal(outcome.ok, false);
    assert.equal(outcome.exitCode, 5);
    assert.match(outcome.stderr, /Unit ghost\.service not found\./);
    const props = await ghost.show('ghost.service');
    assert.equal(props?.activeState, 'inactive');
    assert.equal(props?.mainPid, 0);
    // journalctl's "-- No entries --" is its own note, not a journal line of the unit
    assert.equal(await ghost.journalTail('ghost.service'), null);
  });

  test('a user manager (systemctl --user): the journal is read with --user-unit, not -u', async () => {
    const user = manager(sb, { systemctl: ['systemctl', '--user'] });
    const evidence = await user.captureEvidence(UNIT);
    assert.deepEqual(sb.journalCalls().at(-1), ['--user-unit', UNIT, '-n', '50', '--no-pager']);
    assert.ok(evidence.journal, 'the unit\'s own lines came back');
  });

  test('journalText drops journalctl\'s notes and keeps the unit\'s lines', () => {
    assert.equal(journalText('-- No entries --\n'), null);
    assert.equal(journalText('-- Logs begin at Mon 2026-12-07 00:00:00 UTC, end at Mon 2026-12-07 01:00:00 UTC. --\nserver: ready\n'), 'server: ready\n');
    assert.equal(journalText('a -- b --\n'), 'a -- b --\n');
  });

  test('Result=start-limit-hit is surfaced by show and by the evidence', async () => {
    const unit = 'limited.service';
    sb.writeUnit(unit, { execStart: ['/bin/sleep', '1000'], startLimitBurst: 1, startLimitIntervalSec: '1min' });
    await sb.systemctl('start', unit);
    const limited = createServiceManager({ systemctl: ['systemctl'], allowedUnits: [unit], timeoutMs: 10_000, journal: true, journalLines: 20, env: sb.env });
    const outcome = await limited.restart(unit);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.exitCode, 1);
    assert.match(outcome.stderr, /attempted too often/);
    const props = await limited.show(unit);
    assert.equal(props?.result, 'start-limit-hit');
    assert.equal(props?.startLimitHit, true);
    assert.equal(props?.mainPid, 0);
    const evidence = await limited.captureEvidence(unit);
    assert.equal(evidence.startLimitHit, true);
    assert.match(evidence.journal ?? '', /Start request repeated too quickly/);
  });

  test('journal disabled or zero lines: no journalctl call at all', async () => {
    sb.clearCalls();
    const quiet = manager(sb, { journal: false });
    assert.equal(await quiet.journalTail(UNIT), null);
    const evidence = await manager(sb, { journalLines: 0 }).captureEvidence(UNIT);
    assert.equal(evidence.journal, null);
    assert.ok(evidence.properties);
    assert.deepEqual(sb.journalCalls(), []);
  });

  test('an absolute systemctl path finds journalctl beside it, even when PATH has neither', async () => {
    const env = { ...sb.env, PATH: `${dirname(node)}:/usr/bin:/bin` };
    const abs = manager(sb, { systemctl: [join(sb.binDir, 'systemctl')], env });
    assert.equal(journalctlFor([join(sb.binDir, 'systemctl')]), join(sb.binDir, 'journalctl'));
    const evidence = await abs.captureEvidence(UNIT);
    assert.equal(evidence.properties?.activeState, 'active');
    assert.match(evidence.journal ?? '', /llama server: listening/);
  });

  test('a wrapper prefix (like sudo -n) passes the unit through as its own argv element', async () => {
    sb.clearCalls();
    const wrapped = manager(sb, { systemctl: ['/usr/bin/env', 'systemctl'] });
    const outcome = await wrapped.restart(UNIT);
    assert.equal(outcome.ok, true, outcome.stderr);
    assert.deepEqual(outcome.argv, ['/usr/bin/env', 'systemctl', 'restart', UNIT]);
    // a first restart reads the unit's stop/start timeouts for its deadline
    assert.deepEqual(sb.calls(), [['show', '-p', SHOW_PROPERTIES.join(','), UNIT], ['restart', UNIT]]);
  });

  test('journalctl missing: the tail is null, the rest of the evidence is still there', async () => {
    const noJournal = mkdtempSync(join(tmpdir(), 'llmh-nojournal-'));
    try {
      const env = { ...sb.env, PATH: noJournal };
      // a systemctl path whose directory has no journalctl falls back to PATH, which has none
      const m = createServiceManager({ systemctl: [node, join(sb.binDir, '..', 'service-manager', 'systemctl.js')], allowedUnits: [UNIT], timeoutMs: 10_000, journal: true, journalLines: 5, env });
      assert.equal(await m.journalTail(UNIT), null);
      const evidence = await m.captureEvidence(UNIT);
      assert.equal(evidence.journal, null);
      assert.equal(evidence.properties?.activeState, 'active');
    } finally {
      rmSync(noJournal, { recursive: true, force: true });
    }
  });
});

describe('restart executor: failures of systemctl itself are outcomes', () => {
  test('a missing systemctl (ENOENT) is an outcome with a clear stderr, not a throw', async () => {
    for (const prefix of [['/nonexistent/bin/systemctl'], ['llmh-no-such-systemctl']]) {
      const sm = createServiceManager({ systemctl: prefix, allowedUnits: [UNIT], timeoutMs: 5_000, journal: true, journalLines: 5 });
      const outcome = await sm.restart(UNIT);
      assert.equal(outcome.ok, false);
      assert.equal(outcome.exitCode, null);
      assert.equal(outcome.timedOut, false);
      assert.match(outcome.stderr, /cannot run .*command not found.*ENOENT/);
      assert.deepEqual(outcome.argv, [...prefix, 'restart', UNIT]);
      assert.equal(await sm.show(UNIT), null);
      const evidence = await sm.captureEvidence(UNIT);
      assert.equal(evidence.properties, null);
    }
  });

  test('a hanging systemctl times out, is killed with its children, and reports timedOut', async () => {
    const fake = script(`sleep 30 &\necho $! > "$(dirname "$0")/child.pid"\nwait`);
    try {
      const sm = createServiceManager({ systemctl: [fake.path], allowedUnits: [UNIT], timeoutMs: 300, killGraceMs: 200, journal: false, journalLines: 0 });
      const started = Date.now();
      const outcome = await sm.restart(UNIT);
      const took = Date.now() - started;
      assert.equal(outcome.timedOut, true);
      assert.equal(outcome.ok, false);
      assert.match(outcome.stderr, /timed out after 300 ms/);
      assert.ok(took >= 290 && took < 3_000, `took ${took} ms`);
      const child = Number(readFileSync(join(fake.dir, 'child.pid'), 'utf8'));
      await waitFor(() => !processExists(child), 2_000, 'the hanging child to be gone');
    } finally {
      rmSync(fake.dir, { recursive: true, force: true });
    }
  });

  test('a systemctl that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const fake = script(`trap '' TERM\necho $$ > "$(dirname "$0")/self.pid"\nwhile true; do sleep 0.05; done`);
    try {
      const sm = createServiceManager({ systemctl: [fake.path], allowedUnits: [UNIT], timeoutMs: 200, killGraceMs: 200, journal: false, journalLines: 0 });
      const outcome = await sm.restart(UNIT);
      assert.equal(outcome.timedOut, true);
      assert.equal(outcome.signal, 'SIGKILL');
      assert.ok(outcome.durationMs < 3_000);
      const self = Number(readFileSync(join(fake.dir, 'self.pid'), 'utf8'));
      assert.equal(processExists(self), false);
    } finally {
      rmSync(fake.dir, { recursive: true, force: true });
    }
  });

  test('output is capped and marked; the journal keeps its newest lines', async () => {
    const fake = script(`i=0; while [ $i -lt 2000 ]; do echo "line $i of output"; echo "err $i" >&2; i=$((i+1)); done; exit 3`);
    try {
      const sm = createServiceManager({ systemctl: [fake.path], allowedUnits: [UNIT], timeoutMs: 10_000, outputCapBytes: 1024, journal: false, journalLines: 0 });
      const outcome = await sm.restart(UNIT);
      assert.equal(outcome.ok, false);
      assert.equal(outcome.exitCode, 3);
      assert.equal(outcome.stdoutTruncated, true);
      assert.equal(outcome.stderrTruncated, true);
      assert.ok(outcome.stdout.startsWith('line 0 of output\n'));
      assert.match(outcome.stdout, /\[\.\.\. \d+ bytes truncated\]$/);
      assert.ok(Buffer.byteLength(outcome.stdout) < 1024 + 64);
      const tail = await runCommand([fake.path], { timeoutMs: 10_000, outputCapBytes: 256, keep: 'tail' });
      assert.match(tail.stdout, /^\[\.\.\. \d+ bytes truncated\]\n/);
      assert.ok(tail.stdout.endsWith('line 1999 of output\n'));
    } finally {
      rmSync(fake.dir, { recursive: true, force: true });
    }
  });

  test('a cut never splits a UTF-8 character', async () => {
    const fake = script(`printf 'ééééééééééé'`);
    try {
      const head = await runCommand([fake.path], { timeoutMs: 5_000, outputCapBytes: 5 });
      assert.ok(head.stdout.startsWith('éé\n'), JSON.stringify(head.stdout));
      const tail = await runCommand([fake.path], { timeoutMs: 5_000, outputCapBytes: 5, keep: 'tail' });
      assert.ok(tail.stdout.endsWith('\néé'), JSON.stringify(tail.stdout));
      assert.ok(!head.stdout.includes('\uFFFD') && !tail.stdout.includes('\uFFFD'));
    } finally {
      rmSync(fake.dir, { recursive: true, force: true });
    }
  });
});

describe('parseShowOutput', () => {
  test('reads keys in any order, MainPID 0 means no process, junk means null', () => {
    assert.deepEqual(parseShowOutput('MainPID=0\nResult=signal\nNRestarts=2\nExecMainStatus=9\nActiveState=failed\nSubState=failed\n'), {
      activeState: 'failed', subState: 'failed', nRestarts: 2, mainPid: 0, execMainStatus: 9, result: 'signal', startLimitHit: false,
    });
    assert.equal(parseShowOutput('ActiveState=failed\nResult=start-limit-hit\n')?.startLimitHit, true);
    const partial = parseShowOutput('ActiveState=active\nMainPID=\nNRestarts=[not set]\n');
    assert.deepEqual([partial?.mainPid, partial?.nRestarts, partial?.execMainStatus], [0, null, null]);
    assert.equal(parseShowOutput(''), null);
    assert.equal(parseShowOutput('Failed to connect to bus: No such file or directory\n'), null);
  });
});
