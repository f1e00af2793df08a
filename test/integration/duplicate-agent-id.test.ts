import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_TOKEN, eventually, startTestCoordinator, wsUrl } from '../coordinator/helpers.js';
import { agentYaml, createHarness } from '../helpers/agent-harness.js';

/**
 * Two real agent processes configured with the same agent.id (a copied config): they must not
 * take the connection from each other forever. Each replacement closes the other with 4001;
 * the agent replaced twice within 10 minutes says why and waits minutes, and the coordinator
 * raises LLMAgentDuplicateId.
 */
const h = createHarness();
after(() => h.cleanup());

test('two agents with one id: one backs off with an error, replacements stop, LLMAgentDuplicateId fires', { timeout: 60_000 }, async () => {
  const t = await startTestCoordinator('fleet: { heartbeatInterval: 1s, agentLostAfter: 5s }\n');
  const dirs = [mkdtempSync(join(tmpdir(), 'llmh-dup-')), mkdtempSync(join(tmpdir(), 'llmh-dup-'))];
  try {
    const yaml = (spool: string) =>
      agentYaml(
        '  - name: svc\n    kind: http\n    url: http://127.0.0.1:9/\n',
        `coordinator: { url: '${wsUrl(t.coord)}', token: '${AGENT_TOKEN}', spoolDir: '${spool}', heartbeat: 1s, reconnectMax: 1s }\n`,
      ).replace('agent: { id: test-agent }', 'agent: { id: twin }');
    const first = h.spawnAgent(yaml(dirs[0]!));
    await eventually(() => t.coord.fleet.state.hosts.get('twin')?.connected === true, 15_000, 'the first agent connected');
    const second = h.spawnAgent(yaml(dirs[1]!));

    const loud = /another agent process is connected to the coordinator as \\"twin\\"/;
    await eventually(() => [first, second].some((a) => a.lines.some((l) => loud.test(l))), 20_000, 'an agent reported the duplicate id');
    const backedOff = [first, second].find((a) => a.lines.some((l) => loud.test(l)))!;
    const line = JSON.parse(backedOff.lines.find((l) => loud.test(l))!) as { level: number; retryInMs: number };
    assert.ok(line.level >= 50, 'logged as an error');
    assert.ok(line.retryInMs >= 5 * 60_000, `retries in minutes, not seconds (${line.retryInMs} ms)`);

    // the coordinator saw the fight and pages it once, as a warning
    await eventually(() => {
      t.coord.alerts.evaluate();
      return t.coord.alerts.alerts().some((a) => a.alert.labels.alertname === 'LLMAgentDuplicateId' && a.alert.labels.host === 'twin');
    }, 5_000, 'LLMAgentDuplicateId firing');
    assert.match(t.logs(), /two agent processes use the agent id \\"twin\\"/);

    // and the fight stops: no further replacements for a few seconds, the other one stays connected
    const replacedLines = () => t.logs().split('\n').filter((l) => l.includes('closing its previous connection')).length;
    const settled = replacedLines();
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal(replacedLines(), settled, 'no more replacements once one agent backed off');
    assert.equal(t.coord.fleet.state.hosts.get('twin')?.connected, true);
  } finally {
    await t.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
