import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '../../../shared/protocol/constants.js';
import { event, events, hello, snapshot } from '../protocol-samples.js';
import { ADMIN_TOKEN, TestAgent, eventually, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../helpers.js';

// The attacks a security review reproduced with one host's token speaking for another host.
const GPU_A_TOKEN = 'gpu-a-token-0123456789';
const GPU_B_TOKEN = 'gpu-b-token-0123456789';
const RACK_TOKEN = 'rack2-token-0123456789';

describe('agent identity: a token speaks only for the agent ids it is bound to', () => {
  let t: TestCoordinator;
  let url: string;
  before(async () => {
    t = await startTestCoordinator('', {}, {
      agentTokens: `\n    - { token: ${GPU_A_TOKEN}, agents: [gpu-a] }\n    - { token: ${GPU_B_TOKEN}, agents: [gpu-b] }\n    - { token: ${RACK_TOKEN}, agents: ["rack2-*"] }`,
    });
    url = wsUrl(t.coord);
  });
  after(() => t.close());

  test("takeover: gpu-a's token saying hello as gpu-b is closed 4403; gpu-b keeps its connection, labels and events", async () => {
    const b = await TestAgent.hello(url, 'gpu-b', 'b-boot', GPU_B_TOKEN);
    b.agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
    b.agent.send(events([event(1, { agentId: 'gpu-b', bootId: 'b-boot', to: 'healthy', from: 'starting' })]));
    await b.agent.ackedUpTo(1, 'b-boot');

    const attacker = await TestAgent.connect(url, GPU_A_TOKEN);
    attacker.send({ ...hello('gpu-b', 'forged-boot'), labels: { rack: 'evil' } });
    // whatever follows the hello on the same socket must not be stored either
    attacker.send(events([event(2, { agentId: 'gpu-b', bootId: 'b-boot', to: 'down', reason: 'forged' })]));
    const closed = await attacker.closed;
    assert.equal(closed.code, CloseCode.Forbidden);
    assert.match(closed.reason, /may not speak for agent id gpu-b/);

    assert.equal(b.agent.ws.readyState, b.agent.ws.OPEN, "gpu-b's own connection was not replaced");
    const host = t.coord.fleet.state.hosts.get('gpu-b')!;
    assert.equal(host.bootId, 'b-boot');
    assert.deepEqual(host.labels, { rack: 'r1', gpu: 'h100' });
    assert.deepEqual((await t.coord.store.events.listEvents({ host: 'gpu-b' })).map((e) => [e.seq, e.reason]), [[1, 'event 1']]);
    const logs = t.logs();
    assert.match(logs, /agent hello refused: auth\.agentTokens\[0\] may not speak for agent id \\"gpu-b\\"/);
    assert.match(logs, /"remote":"127\.0\.0\.1:\d+"/);
    assert.ok(!logs.includes(GPU_A_TOKEN), 'the token itself is never logged');
    await b.agent.closeAndWait();
  });

  test("forged next seq: gpu-a cannot pre-store gpu-b's next events; gpu-b's real ones are stored", async () => {
    const a = await TestAgent.hello(url, 'gpu-a', 'a-boot', GPU_A_TOKEN);
    a.agent.send(events([event(5, { agentId: 'gpu-b', bootId: 'b-boot', reason: 'forged ahead' })]));
    assert.equal((await a.agent.closed).code, CloseCode.ProtocolViolation);

    const b = await TestAgent.hello(url, 'gpu-b', 'b-boot', GPU_B_TOKEN);
    b.agent.send(events([2, 3, 4, 5].map((seq) => event(seq, { agentId: 'gpu-b', bootId: 'b-boot', reason: `real ${seq}` }))));
    await b.agent.ackedUpTo(5, 'b-boot');
    const stored = await t.coord.store.events.listEvents({ host: 'gpu-b' });
    assert.deepEqual(stored.map((e) => e.reason), ['event 1', 'real 2', 'real 3', 'real 4', 'real 5']);
    await b.agent.closeAndWait();
  });

  test("forged gap: a gap naming another agent's boot is refused; an agent's own gap cannot ack what its boot never sent", async () => {
    // the attack: gpu-a's token, hello as gpu-b, gap up to 2^53-1 over gpu-b's boot
    const attacker = await TestAgent.connect(url, GPU_A_TOKEN);
    attacker.send(hello('gpu-b', 'x'));
    attacker.send(events([event(99, { agentId: 'gpu-b', bootId: 'x', type: 'gap', service: undefined, to: undefined, from: undefined, data: { lost: [{ bootId: 'b-boot', fromSeq: 6, toSeq: Number.MAX_SAFE_INTEGER, count: 1 }] } })]));
    assert.equal((await attacker.closed).code, CloseCode.Forbidden);

    // gpu-b's own events after the attempt are still stored and acknowledged one by one
    const b = await TestAgent.hello(url, 'gpu-b', 'b-boot', GPU_B_TOKEN);
    assert.deepEqual(b.welcome.ackedSeq, { bootId: 'b-boot', seq: 5 });
    b.agent.send(events([event(6, { agentId: 'gpu-b', bootId: 'b-boot', reason: 'real 6', to: 'down' })]));
    await b.agent.ackedUpTo(6, 'b-boot');

    // and an agent's own gap claiming losses to 2^53-1 moves its watermark only as far as it has sent
    const gap = event(7, { agentId: 'gpu-b', bootId: 'b-boot', type: 'gap', service: undefined, to: undefined, from: undefined, reason: 'spool full', data: { lost: [{ bootId: 'b-boot', fromSeq: 8, toSeq: Number.MAX_SAFE_INTEGER, count: 1 }] } });
    b.agent.send(events([gap]));
    const ack = await b.agent.next('ack');
    assert.deepEqual([ack.bootId, ack.seq], ['b-boot', 7]);
    assert.equal(await t.coord.store.events.lastSeq('gpu-b', 'b-boot'), 7);
    // a later real event past the declared hole is stored and crosses it
    b.agent.send(events([event(12, { agentId: 'gpu-b', bootId: 'b-boot', reason: 'real 12', to: 'healthy', from: 'down' })]));
    await b.agent.ackedUpTo(12, 'b-boot');
    assert.deepEqual((await t.coord.store.events.listEvents({ host: 'gpu-b' })).map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 12]);
    await b.agent.closeAndWait();
  });

  test('500 fake hosts: hellos for 500 other ids with one host token are all refused; no host, no alert', async () => {
    const before = t.coord.fleet.state.hosts.size;
    const refused = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const fake = await TestAgent.connect(url, GPU_A_TOKEN);
        fake.send(hello(`fake-${i}`, `boot-${i}`));
        return (await fake.closed).code;
      }),
    );
    assert.deepEqual(new Set(refused), new Set([CloseCode.Forbidden]));
    assert.equal(t.coord.fleet.state.hosts.size, before);
    assert.ok(!(await t.coord.store.fleet.listAgents()).some((a) => a.id.startsWith('fake-')));
    t.coord.alerts.evaluate();
    assert.ok(!t.coord.alerts.alerts().some((a) => a.alert.labels.host?.startsWith('fake-')));
  });

  test('a glob token speaks for every id it matches and no other', async () => {
    const ok = await TestAgent.hello(url, 'rack2-node7', 'r-boot', RACK_TOKEN);
    assert.equal(ok.welcome.agentId, 'rack2-node7');
    await ok.agent.closeAndWait();
    const no = await TestAgent.connect(url, RACK_TOKEN);
    no.send(hello('rack3-node1', 'r-boot'));
    assert.equal((await no.closed).code, CloseCode.Forbidden);
  });

  test('a retired host can be forgotten by an admin (not while connected); its alerts resolve', async () => {
    const c = await TestAgent.hello(url, 'gpu-a', 'a-boot2', GPU_A_TOKEN);
    const del = (id: string, token = ADMIN_TOKEN) => fetch(`${t.coord.url}/api/v1/hosts/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal((await del('gpu-a')).status, 409, 'connected: refused');
    assert.equal((await del('nobody')).status, 404);
    assert.equal((await del('gpu-a', GPU_A_TOKEN)).status, 401, 'agent tokens are not admin tokens');
    await c.agent.closeAndWait();
    await eventually(() => t.coord.fleet.state.hosts.get('gpu-a')?.connected === false, 2000, 'disconnect seen');
    const res = await del('gpu-a');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { forgotten: boolean }).forgotten, true);
    assert.equal(t.coord.fleet.state.hosts.has('gpu-a'), false);
    assert.ok(!(await t.coord.store.fleet.listAgents()).some((a) => a.id === 'gpu-a'));
    const fleet = await getJson(`${t.coord.url}/api/v1/fleet`);
    assert.ok(!(fleet.body as { hosts: { id: string }[] }).hosts.some((h) => h.id === 'gpu-a'));
    assert.match(t.logs(), /"audit":"host\.forget","host":"gpu-a"/);
  });
});

describe('agent identity: plain tokens', () => {
  test('a plain token still speaks for any id, with a warning at start naming it (never the token)', async () => {
    const t = await startTestCoordinator();
    try {
      const logs = t.logs();
      assert.match(logs, /auth\.agentTokens\[0\] is a plain agent token: any agent holding it may speak as any agent id/);
      assert.ok(!logs.includes('agent-token-0123456789'));
      const { welcome } = await TestAgent.hello(wsUrl(t.coord), 'whoever', 'b');
      assert.equal(welcome.agentId, 'whoever');
    } finally {
      await t.close();
    }
  });
});
