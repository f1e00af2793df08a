import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restartCommandLine, sudoCommand, sudoersAllowsRestart, sudoersFile } from '../../../agent/privileges/sudoers.js';
import { SHOW_PROPERTIES } from '../../../agent/restart/systemctl.js';

const SUDO = ['sudo', '-n', 'systemctl'];
const UNITS = ['llama-vision-server.service', 'getty@tty1.service', 'a:b.service'];

const visudo = ['/usr/sbin/visudo', '/usr/bin/visudo', '/sbin/visudo'].find((p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
});

test('one restart, one reset-failed and one show line per unit, exactly as the agent runs them', () => {
  const text = sudoersFile(UNITS, SUDO);
  const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(rules[0], 'Defaults:llm-health !requiretty');
  assert.equal(rules[1], 'llm-health ALL=(root) NOPASSWD: /usr/bin/systemctl restart llama-vision-server.service, /usr/bin/systemctl restart getty@tty1.service, /usr/bin/systemctl restart a\\:b.service');
  assert.equal(rules[2], 'llm-health ALL=(root) NOPASSWD: /usr/bin/systemctl reset-failed llama-vision-server.service, /usr/bin/systemctl reset-failed getty@tty1.service, /usr/bin/systemctl reset-failed a\\:b.service');
  assert.ok(rules[3]!.includes(`/usr/bin/systemctl show -p ${SHOW_PROPERTIES.join('\\,')} llama-vision-server.service`), rules[3]);
  assert.equal(rules.length, 4);
  for (const l of rules) assert.ok(!l.includes('*') && !l.includes('ALL=(ALL)'), l);
});

test('visudo -cf accepts the generated file', (t) => {
  if (!visudo) return t.skip('visudo is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'llmh-sudoers-'));
  try {
    const prefixes: [string, string[]][] = [['plain', SUDO], ['absolute', ['sudo', '-n', '/bin/systemctl', '--no-ask-password']]];
    for (const [name, prefix] of prefixes) {
      const file = join(dir, name);
      writeFileSync(file, sudoersFile(UNITS, prefix));
      const r: SpawnSyncReturns<string> = spawnSync(visudo!, ['-c', '-f', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the sudo command keeps an absolute systemctl and the arguments after it', () => {
  assert.deepEqual(sudoCommand(SUDO), ['/usr/bin/systemctl']);
  assert.deepEqual(sudoCommand(['sudo', '-n', '/bin/systemctl', '--no-ask-password']), ['/bin/systemctl', '--no-ask-password']);
  assert.deepEqual(sudoCommand(['systemctl']), ['/usr/bin/systemctl']);
  assert.deepEqual(sudoCommand(['sudo', '-n', 'my-wrapper']), ['/usr/bin/my-wrapper']);
});

test('sudoersAllowsRestart finds a unit only on an active, exact command line', () => {
  const text = sudoersFile(['a.service', 'b:c.service'], SUDO);
  assert.ok(sudoersAllowsRestart(text, SUDO, 'a.service'));
  assert.ok(sudoersAllowsRestart(text, SUDO, 'b:c.service'));
  assert.ok(!sudoersAllowsRestart(text, SUDO, 'b.service'));
  assert.ok(!sudoersAllowsRestart(text, ['sudo', '-n', '/opt/systemctl'], 'a.service'), 'another binary is another command');
  assert.ok(!sudoersAllowsRestart(`# llm-health ALL=(root) NOPASSWD: ${restartCommandLine(SUDO, 'x.service')}\n`, SUDO, 'x.service'), 'commented out');
  assert.ok(!sudoersAllowsRestart(`llm-health ALL=(root) NOPASSWD: ${restartCommandLine(SUDO, 'x.service')}-old\n`, SUDO, 'x.service'), 'a longer name');
});
