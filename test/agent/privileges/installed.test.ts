import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privilegeWarnings } from '../../../agent/privileges/installed.js';
import { polkitRule } from '../../../agent/privileges/polkit-rule.js';
import { sudoersFile } from '../../../agent/privileges/sudoers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmh-privileges-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const paths = { polkitRule: join(dir, '50-llm-health.rules'), sudoers: join(dir, 'sudoers') };
const config = (units: (string | undefined)[], systemctl = ['systemctl'], enabled = true) => ({
  file: '/etc/llm-health/agent.yaml',
  services: units.map((unit) => ({ unit })) as never,
  restart: { enabled, systemctl } as never,
});

test('polkit: one warning per configured unit the installed rule does not list, naming the fix', () => {
  writeFileSync(paths.polkitRule, polkitRule(['a.service']));
  const warnings = privilegeWarnings(config(['a.service', 'b.service', undefined, 'c.service', 'b.service']), paths);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^unit b\.service is not listed in .*50-llm-health\.rules: its restarts will be refused \(write the rule again with: llm-health deploy polkit -c \/etc\/llm-health\/agent\.yaml\)$/);
  assert.match(warnings[1]!, /^unit c\.service /);
  assert.deepEqual(privilegeWarnings(config(['a.service']), paths), []);
});

test('sudo: the sudoers file is checked instead of the polkit rule', () => {
  writeFileSync(paths.polkitRule, polkitRule([]));
  writeFileSync(paths.sudoers, sudoersFile(['a.service'], ['sudo', '-n', 'systemctl']));
  const warnings = privilegeWarnings(config(['a.service', 'b.service'], ['sudo', '-n', 'systemctl']), paths);
  assert.deepEqual(warnings.map((w) => w.split(':')[0]), ['unit b.service is not allowed in ' + paths.sudoers]);
});

test('nothing is said when no file is installed, it cannot be read, it has no unit list, or restarts are off', () => {
  const none = { polkitRule: join(dir, 'absent.rules'), sudoers: join(dir, 'absent') };
  assert.deepEqual(privilegeWarnings(config(['a.service']), none), []);
  assert.deepEqual(privilegeWarnings(config(['a.service'], ['sudo', 'systemctl']), none), []);
  writeFileSync(paths.polkitRule, 'polkit.addRule(function (a, s) { return polkit.Result.YES; });\n');
  assert.deepEqual(privilegeWarnings(config(['a.service']), paths), []);
  writeFileSync(paths.polkitRule, polkitRule([]));
  assert.deepEqual(privilegeWarnings(config(['a.service'], ['systemctl'], false), paths), []);
  assert.deepEqual(privilegeWarnings(config([undefined]), paths), []);
  if (process.getuid?.() !== 0) {
    chmodSync(paths.polkitRule, 0o000);
    assert.deepEqual(privilegeWarnings(config(['a.service']), paths), []);
  }
});
