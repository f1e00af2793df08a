/**
 * Runs the same scenarios against the stand-in and against a real systemd, and compares what
 * `systemctl` says. The real one is a systemd user manager booted for this file
 * (test/helpers/systemd.ts); the file skips, saying why, only where none can start (not
 * root, no systemd package). To compare with another manager instead, e.g. a desktop's own
 * user manager:
 *
 *   LLMH_REAL_SYSTEMCTL=/path/to/systemctl LLMH_REAL_UNIT_DIR=/path/to/units \
 *     node --test dist/test/demo/service-manager/conformance.test.js
 *
 * The unit directory must be one that manager loads units from; the test runs
 * `daemon-reload` after writing into it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceSandbox, runCommand, signalPid, waitFor, type CommandResult, type ServiceSandbox } from '../../helpers/service-manager.js';
import { systemdForTests, type SystemdSandbox } from '../../helpers/systemd.js';
import { writeUnit, type WriteUnitOptions } from '../../../demo/service-manager/units.js';

const external = process.env.LLMH_REAL_SYSTEMCTL && process.env.LLMH_REAL_UNIT_DIR ? { systemctl: process.env.LLMH_REAL_SYSTEMCTL, unitDir: process.env.LLMH_REAL_UNIT_DIR } : null;
const booted: { sandbox: SystemdSandbox | null; skip: string | false } = external ? { sandbox: null, skip: false } : await systemdForTests();
const skip = booted.skip;
const realSystemctl = external?.systemctl ?? booted.sandbox?.systemctlPath;
const realUnitDir = external?.unitDir ?? booted.sandbox?.unitDir;

interface Backend {
  name: string;
  writeUnit(name: string, options: WriteUnitOptions): Promise<void>;
  systemctl(...args: string[]): Promise<CommandResult>;
  /** where a unit's stdout ends up, to read what it printed */
  output(marker: string): Promise<string>;
}

const PROPS = 'ActiveState,SubState,NRestarts,MainPID,ExecMainStatus,ExecMainCode,Result,LoadState';

/** show output as a map, with pids replaced by "<pid>" so the two managers compare. */
async function props(b: Backend, unit: string): Promise<Record<string, string>> {
  const r = await b.systemctl('show', '-p', PROPS, unit);
  assert.equal(r.code, 0, `${b.name}: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [k, v] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
    out[k] = k === 'MainPID' && v !== '0' ? '<pid>' : v;
  }
  return out;
}

/** systemctl's messages, minus what differs between a user manager and the system one. */
function normalize(r: CommandResult): CommandResult {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.replace(/ --user/g, '') };
}

async function scenario(b: Backend, unitBase: string): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const u = (s: string) => `${unitBase}-${s}.service`;
  const node = process.execPath;

  await b.writeUnit(u('web'), { execStart: [node, '-e', 'setInterval(()=>{},1000)'] });
  await b.writeUnit(u('flap'), { execStart: ['/bin/sh', '-c', 'sleep 0.2; exit 3'], restart: 'on-failure', restartSec: 100, startLimitBurst: 100 });
  await b.writeUnit(u('limit'), { execStart: ['/bin/sleep', '1000'], startLimitBurst: 2, startLimitIntervalSec: '1min' });
  const tricky = ['two words', 'quote"d', "single'q", 'back\\slash', '$HOME ${PATH}', '100%', ';', '-H'];
  const marker = `argv-${unitBase}`;
  await b.writeUnit(u('argv'), { execStart: [node, '-e', 'console.log(process.argv[1] + "=" + JSON.stringify(process.argv.slice(2)))', marker, ...tricky] });
  await b.systemctl('daemon-reload');

  seen.start = normalize(await b.systemctl('start', u('web')));
  seen.afterStart = await props(b, u('web'));
  const pid = Number((await b.systemctl('show', '-p', 'MainPID', '--value', u('web'))).stdout.trim());
  signalPid(pid, 'SIGKILL');
  await waitFor(async () => (await props(b, u('web'))).ActiveState === 'failed', 5_000, `${b.name}: failed`);
  seen.afterKill = await props(b, u('web'));
  seen.isActiveFailed = normalize(await b.systemctl('is-active', u('web')));
  seen.restart = normalize(await b.systemctl('restart', u('web')));
  seen.afterRestart = await props(b, u('web'));
  seen.stop = normalize(await b.systemctl('stop', u('web')));
  seen.afterStop = await props(b, u('web'));

  await b.systemctl('start', u('flap'));
  await waitFor(async () => Number((await props(b, u('flap'))).NRestarts) >= 2, 10_000, `${b.name}: restarts`);
  seen.flapRestarted = true;
  await b.systemctl('restart', u('flap'));
  seen.flapNRestartsAfterManualRestart = (await props(b, u('flap'))).NRestarts;
  await b.systemctl('stop', u('flap'));

  seen.limit1 = (await b.systemctl('start', u('limit'))).code;
  seen.limit2 = (await b.systemctl('restart', u('limit'))).code;
  seen.limit3 = normalize(await b.systemctl('restart', u('limit')));
  seen.afterLimit = await props(b, u('limit'));
  seen.resetFailed = (await b.systemctl('reset-failed', u('limit'))).code;
  seen.afterReset = await props(b, u('limit'));

  await b.systemctl('start', u('argv'));
  seen.argv = await waitFor(async () => (await b.output(marker)).match(new RegExp(`^${marker}=(.*)$`, 'm'))?.[1], 5_000, `${b.name}: argv`);

  const ghost = u('ghost');
  seen.ghostRestart = normalize(await b.systemctl('restart', ghost));
  seen.ghostStop = normalize(await b.systemctl('stop', ghost));
  seen.ghostIsActive = normalize(await b.systemctl('is-active', ghost));
  seen.ghostShow = await props(b, ghost);
  return seen;
}

describe('stand-in vs real systemd', () => {
  let sb: ServiceSandbox;
  const unitBase = `llmh-conf-${randomBytes(3).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'llmh-conf-'));
  const realUnits: string[] = [];

  before(() => {
    sb = createServiceSandbox();
  });
  after(async () => {
    if (skip) {
      await sb.cleanup();
      rmSync(scratch, { recursive: true, force: true });
      return;
    }
    if (booted.sandbox) {
      // the whole manager goes, with every unit it ran
      await booted.sandbox.stop();
      await sb.cleanup();
      rmSync(scratch, { recursive: true, force: true });
      return;
    }
    for (const unit of realUnits) await runCommand(realSystemctl!, ['stop', unit], process.env);
    for (const unit of realUnits) rmSync(join(realUnitDir!, unit), { force: true });
    await runCommand(realSystemctl!, ['daemon-reload'], process.env);
    await runCommand(realSystemctl!, ['reset-failed'], process.env);
    await sb.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the same scenarios give the same answers', { skip }, async () => {
    const standIn: Backend = {
      name: 'stand-in',
      writeUnit: async (name, options) => void sb.writeUnit(name, options),
      systemctl: (...args) => sb.systemctl(...args),
      output: async () => {
        try {
          return readFileSync(join(sb.dir, 'logs', `${unitBase}-argv.service.log`), 'utf8');
        } catch {
          return '';
        }
      },
    };
    const real: Backend = {
      name: 'systemd',
      writeUnit: async (name, options) => {
        const path = writeUnit(scratch, name, options);
        copyFileSync(path, join(realUnitDir!, name));
        realUnits.push(name);
      },
      systemctl: (...args) => runCommand(realSystemctl!, args, process.env),
      output: async () => {
        // a sandboxed user manager collects unit output in one file beside its unit dir
        for (const f of [join(realUnitDir!, '..', '..', '..', 'services.log'), join(realUnitDir!, '..', 'services.log')]) {
          try {
            return readFileSync(f, 'utf8');
          } catch {
            // try the next place
          }
        }
        const j = await runCommand('journalctl', ['--no-pager', '-o', 'cat', '-n', '200'], process.env);
        return j.stdout;
      },
    };
    const expected = await scenario(real, unitBase);
    await sleep(10);
    const actual = await scenario(standIn, unitBase);
    assert.deepEqual(actual, expected);
  });
});
