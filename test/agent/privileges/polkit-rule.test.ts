import { test } from 'node:test';
import assert from 'node:assert/strict';
import { polkitRule, polkitRuleUnits } from '../../../agent/privileges/polkit-rule.js';
import { MANAGE_UNITS, loadPolkitRule } from '../../helpers/polkit.js';

const UNITS = ['llama-vision-server.service', 'getty@tty1.service', 'a:b_c.d-e.service'];
const OTHER_VERBS = ['start', 'stop', 'reload', 'kill', 'set-property', 'reload-or-restart', 'try-restart', 'enable', ''];

test('the generated rule allows restart and reset-failed of exactly its units, for user llm-health only', () => {
  const decide = loadPolkitRule(polkitRule(UNITS));
  for (const unit of UNITS) {
    assert.equal(decide(MANAGE_UNITS, { unit, verb: 'restart' }), 'yes', unit);
    assert.equal(decide(MANAGE_UNITS, { unit, verb: 'reset-failed' }), 'yes', `reset-failed ${unit}`);
    for (const verb of OTHER_VERBS) assert.equal(decide(MANAGE_UNITS, { unit, verb }), 'no', `${verb} ${unit}`);
    for (const user of ['mallory', 'root', 'llm-health2', '']) assert.equal(decide(MANAGE_UNITS, { unit, verb: 'restart' }, user), 'not_handled', `user ${user}`);
  }
  for (const unit of ['sshd.service', 'llm-health-agent.service', 'llama-vision-server', 'llama-vision-server.service.d', 'LLAMA-VISION-SERVER.SERVICE', '', 'getty@tty2.service']) {
    assert.equal(decide(MANAGE_UNITS, { unit, verb: 'restart' }), 'no', unit);
  }
  assert.equal(decide('org.freedesktop.systemd1.manage-unit-files', { unit: UNITS[0]!, verb: 'restart' }), 'not_handled');
  assert.equal(decide('org.freedesktop.login1.reboot', {}), 'not_handled');
});

test('a rule for no units refuses every unit', () => {
  const decide = loadPolkitRule(polkitRule([]));
  assert.equal(decide(MANAGE_UNITS, { unit: 'x.service', verb: 'restart' }), 'no');
});

test('the rule is ES5 for polkit interpreters (no arrows, let, const, template literals, classes)', () => {
  const code = polkitRule(UNITS).replace(/\/\/.*$/gm, '');
  assert.doesNotMatch(code, /=>|\blet\s|\bconst\s|`|\bclass\s/);
});

test('polkitRuleUnits reads the unit list of a generated or hand-edited rule', () => {
  assert.deepEqual(polkitRuleUnits(polkitRule(UNITS)), UNITS);
  assert.deepEqual(polkitRuleUnits("var UNITS = ['a.service', \"b.service\"]; // \"c.service\""), ['a.service', 'b.service']);
  assert.deepEqual(polkitRuleUnits('// var UNITS = ["x.service"];\npolkit.addRule(function () {});'), undefined, 'a commented-out list is no list');
  assert.equal(polkitRuleUnits('polkit.addRule(function (a, s) { return polkit.Result.YES; });'), undefined);
});
