/** `llm-health deploy polkit|sudoers` (cli/deploy.ts) run as operators run it. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { MANAGE_UNITS, loadPolkitRule } from '../helpers/polkit.js';

const EXAMPLES = fileURLToPath(new URL('../../../deploy/examples/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llmh-cli-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('deploy polkit needs none of the config secrets and allows exactly its units', async () => {
  const r = await runCli(['deploy', 'polkit', '-c', join(EXAMPLES, 'agent.yaml')], { LLM_HEALTH_AGENT_TOKEN: '' });
  assert.equal(r.code, 0, r.stderr);
  const decide = loadPolkitRule(r.stdout);
  assert.equal(decide(MANAGE_UNITS, { unit: 'qwen3-vl-server.service', verb: 'restart' }), 'yes');
  assert.equal(decide(MANAGE_UNITS, { unit: 'ollama.service', verb: 'restart' }), 'no', 'a commented-out service is not allowed');
});

test('deploy sudoers uses the config restart.systemctl command', async () => {
  const file = config('sudo.yaml', 'restart: { systemctl: [sudo, -n, /bin/systemctl] }\nservices:\n  - { name: a, kind: tcp, url: "tcp://127.0.0.1:9", unit: a.service }\n');
  const r = await runCli(['deploy', 'sudoers', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^llm-health ALL=\(root\) NOPASSWD: \/bin\/systemctl restart a\.service$/m);
});

test('bad input exits 2 with the reason', async () => {
  const cases: [string[], RegExp][] = [
    [['deploy'], /expected "polkit" or "sudoers", got ""/],
    [['deploy', 'apparmor', '-c', 'x.yaml'], /expected "polkit" or "sudoers", got "apparmor"/],
    [['deploy', 'polkit'], /-c FILE is required/],
    [['deploy', 'sudoers', '-c', join(dir, 'absent.yaml')], /absent\.yaml: \(top level\): file not found/],
    [['deploy', 'polkit', '--bogus', '-c', join(EXAMPLES, 'seed.yaml')], /Unknown option '--bogus'/],
    [['deploy', 'polkit', '-c', config('nounit.yaml', 'services:\n  - { name: a, kind: tcp, url: "tcp://127.0.0.1:9" }\n')], /services: no service names a unit: there is nothing to allow/],
    [['deploy', 'sudoers', '-c', config('varunit.yaml', 'services:\n  - name: a\n    kind: tcp\n    url: tcp://127.0.0.1:9\n    unit: ${LLMH_TEST_UNIT}\n')], /services\[0\]\.unit: comes from an unset environment variable \(\$\{LLMH_TEST_UNIT\}\)/],
    [['deploy', 'polkit', '-c', config('invalid.yaml', 'services:\n  - { name: a, kind: tcp, url: "tcp://127.0.0.1:9", unit: "x; rm -rf /" }\n')], /services\[0\]\.unit: expected a systemd unit name/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', 'nothing half-written to stdout');
  }
});
