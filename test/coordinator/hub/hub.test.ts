import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CloseCode } from '../../../shared/protocol/constants.js';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import type { EventStore, Store } from '../../../coordinator/store/types.js';
import { event, events, heartbeat, hello, snapshot } from '../protocol-samples.js';
import { AGENT_TOKEN, OTHER_AGENT_TOKEN, TestAgent, eventually, expectUpgradeRefused, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../helpers.js';

describe('agent hub', () => {
  let t: TestCoordinator;
  let url: string;
  before(async () => {
    t = await startTestCoordinator('fleet:\n  helloTimeout: 400ms\nlimits:\n  maxPayload: 65536\n');
    url = wsUrl(t.coord);
  });
  after(() => t.close());

  test('no token, a wrong token or another scheme: 401 at the upgrade, nothing stored', async () => {
    assert.equal(await expectUpgradeRefused(url), 401);
    assert.equal(await expectUpgradeRefused(url, { authorization: 'Bearer wrong-token' }), 401);
    assert.equal(await expectUpgradeRefused(url, { authorization: `Bearer ${AGENT_TOKEN}x` }), 401);
    assert.equal(await expectUpgradeRefused(url, { authorization: `Basic ${AGENT_TOKEN}` }), 401);
    assert.equal(await expectUpgradeRefused(url, { authorization: 'Bearer ' }), 401);
    assert.deepEqual(await t.coord.store.fleet.listAgents(), []);
    assert.deepEqual(await t.coord.store.events.listEvents({}), []);
    assert.equal(t.coord.fleet.state.hosts.size, 0);
    const logs = t.logs();
    assert.match(logs, /agent upgrade refused/);
    assert.ok(!logs.includes('wrong-token') && !logs.includes(AGENT_TOKEN), 'tokens never logged');
  });

  test('an unknown path is 404 for upgrades', async () => {
    assert.equal(await expectUpgradeRefused(url.replace('/agent', '/nope'), { authorization: `Bearer ${AGENT_TOKEN}` }), 404);
  });

  test('hello → welcome; events → stored and acked; fleet updated; replay after reconnect stored once', async () => {
    const { agent, welcome } = await TestAgent.hello(url, 'gpu-a', 'boot1');
    assert.deepEqual(welcome, { type: 'welcome', v: 1, agentId: 'gpu-a', ackedSeq: null, limits: { maxPayload: 65536 } });
    agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
    agent.send(events([event(1, { to: 'unhealthy' }), event(2, { to: 'down' }), event(3, { type: 'restart_started', to: undefined })]));
    await agent.ackedUpTo(3);
    assert.deepEqual((await t.coord.store.events.listEvents({ host: 'gpu-a' })).map((e) => e.seq), [1, 2, 3]);
    const llama = t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-a')!.services.find((s) => s.name === 'llama')!;
    assert.equal(llama.state, 'down');
    assert.equal(llama.restarts.count, 1);
    await agent.closeAndWait();
    await eventually(() => t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-a')?.connected === false, 2000, 'disconnect seen');

    // the agent did not see the ack (say) and replays everything plus one new event
    const again = await TestAgent.hello(url, 'gpu-a', 'boot1');
    assert.deepEqual(again.welcome.ackedSeq, { bootId: 'boot1', seq: 3 });
    again.agent.send(events([event(1), event(2), event(3), event(4, { to: 'healthy' })]));
    await again.agent.ackedUpTo(4);
    const stored = await t.coord.store.events.listEvents({ host: 'gpu-a' });
    assert.deepEqual(stored.map((e) => e.seq), [1, 2, 3, 4], 'each event stored exactly once');
    assert.equal(stored[0]!.to, 'unhealthy', 'the first copy is the one kept');
    // a new boot starts a new sequence
    await again.agent.closeAndWait();
    const rebooted = await TestAgent.hello(url, 'gpu-a', 'boot2');
    assert.equal(rebooted.welcome.ackedSeq, null);
    rebooted.agent.send(events([event(1, { bootId: 'boot2' })]));
    await rebooted.agent.ackedUpTo(1, 'boot2');
    await rebooted.agent.closeAndWait();
  });

  test('a hole in the sequence holds the ack back until filled', async () => {
    const { agent } = await TestAgent.hello(url, 'gpu-hole', 'b');
    agent.send(events([event(1, { agentId: 'gpu-hole', bootId: 'b' }), event(3, { agentId: 'gpu-hole', bootId: 'b' })]));
    await agent.ackedUpTo(1, 'b');
    agent.send(events([event(2, { agentId: 'gpu-hole', bootId: 'b' })]));
    await agent.ackedUpTo(3, 'b');
    await agent.closeAndWait();
  });

  const badFrames: [string, (a: TestAgent) => void, number, boolean][] = [
    ['not JSON', (a) => a.send('this is not json {'), CloseCode.InvalidFrame, true],
    ['binary garbage', (a) => a.send(Buffer.from([0xff, 0x00, 0xfe])), CloseCode.InvalidFrame, true],
    ['schema-invalid', (a) => a.send(events([{ ...event(1, { agentId: 'gpu-bad' }), seq: -5 }])), CloseCode.InvalidFrame, true],
    ['unknown type', (a) => a.send({ type: 'bogus', v: 1 }), CloseCode.UnknownType, true],
    ['wrong version', (a) => a.send({ ...heartbeat(), v: 2 }), CloseCode.UnsupportedVersion, true],
    ['oversized', (a) => a.send(JSON.stringify({ type: 'heartbeat', v: 1, pad: 'x'.repeat(70_000) })), CloseCode.MessageTooBig, true],
    ['events before hello', (a) => a.send(events([event(1, { agentId: 'gpu-bad' })])), CloseCode.ProtocolViolation, false],
    ['a second hello', (a) => a.send(hello('gpu-bad', 'x')), CloseCode.ProtocolViolation, true],
    ['an event of another agent', (a) => a.send(events([event(1, { agentId: 'gpu-other' })])), CloseCode.ProtocolViolation, true],
  ];

  test('bad frames close with the documented codes; the coordinator and other agents carry on', async () => {
    const steady = await TestAgent.hello(url, 'gpu-steady', 's1');
    let seq = 0;
    for (const [name, send, code, sayHello] of badFrames) {
      const agent = await TestAgent.connect(url);
      if (sayHello) {
        agent.send(hello('gpu-bad', 'bad1'));
        await agent.next('welcome');
      }
      send(agent);
      const closed = await agent.closed;
      assert.equal(closed.code, code, `${name}: closed with ${closed.code} ${closed.reason}`);
      // meanwhile the well-behaved agent is unaffected
      seq++;
      steady.agent.send(events([event(seq, { agentId: 'gpu-steady', bootId: 's1' })]));
      await steady.agent.ackedUpTo(seq, 's1');
      assert.equal((await getJson(`${t.coord.url}/healthz`)).status, 200);
    }
    assert.deepEqual(await t.coord.store.events.listEvents({ host: 'gpu-bad' }), [], 'nothing from a bad frame stored');
    assert.deepEqual(await t.coord.store.events.listEvents({ host: 'gpu-other' }), []);
    assert.equal((await t.coord.store.events.listEvents({ host: 'gpu-steady' })).length, badFrames.length);

    const logs = t.logs();
    const lines = logs.split('\n').filter((l) => l.includes('closing agent connection: bad frame'));
    assert.ok(lines.length >= badFrames.length - 1, `one log line per bad frame (got ${lines.length})`);
    for (const line of lines) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof rec.reason, 'string');
      assert.equal(typeof rec.bytes, 'number');
      assert.ok('agentId' in rec);
    }
    assert.ok(!logs.includes('this is not json'), 'frame content never logged');
    assert.ok(!logs.includes(AGENT_TOKEN) && !logs.includes(OTHER_AGENT_TOKEN), 'tokens never logged');
    await steady.agent.closeAndWait();
  });

  test('no hello within fleet.helloTimeout: closed with 4408', async () => {
    const agent = await TestAgent.connect(url);
    const closed = await agent.closed;
    assert.equal(closed.code, CloseCode.HelloTimeout);
  });

  test('a second connection for the same agent id replaces the first', async () => {
    const first = await TestAgent.hello(url, 'gpu-twin', 't1');
    const second = await TestAgent.hello(url, 'gpu-twin', 't2', OTHER_AGENT_TOKEN);
    const closed = await first.agent.closed;
    assert.equal(closed.code, CloseCode.Replaced);
    await new Promise((r) => setTimeout(r, 50));
    const host = () => t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-twin')!;
    assert.equal(host().connected, true, 'the old socket closing does not mark the agent disconnected');
    assert.deepEqual(t.coord.hub.connectedAgents.filter((a) => a === 'gpu-twin'), ['gpu-twin']);
    second.agent.send(events([event(1, { agentId: 'gpu-twin', bootId: 't2' })]));
    await second.agent.ackedUpTo(1, 't2');
    await second.agent.closeAndWait();
    await eventually(() => host().connected === false, 2000, 'disconnected');
  });
});

describe('agent hub liveness', () => {
  let t: TestCoordinator;
  let url: string;
  before(async () => {
    t = await startTestCoordinator('fleet:\n  heartbeatInterval: 100ms\n  agentLostAfter: 1s\n');
    url = wsUrl(t.coord);
  });
  after(() => t.close());

  test('heartbeats arrive; a peer that stops answering pings is terminated', async () => {
    const { agent } = await TestAgent.hello(url, 'gpu-live', 'l1');
    await agent.next('heartbeat', 2000);
    const mute = await TestAgent.connect(url, AGENT_TOKEN, { autoPong: false } as WebSocket.ClientOptions);
    mute.send(hello('gpu-mute', 'm1'));
    await mute.next('welcome');
    const started = Date.now();
    const closed = await mute.closed;
    assert.equal(closed.code, 1006, 'terminated, not closed');
    assert.ok(Date.now() - started < 2000, 'within a couple of heartbeat rounds');
    // the responsive agent is still connected
    await agent.next('heartbeat', 2000);
    assert.equal(t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-live')!.connected, true);
    // and the muted one is offline once agentLostAfter passes
    await eventually(() => t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-mute')!.services.every((s) => s.state === 'unknown' && s.reason === 'agent offline'), 3000, 'offline');
    await agent.closeAndWait();
  });
});

describe('agent hub with a failing store', () => {
  test('a store failure closes with 1011 and acks nothing; the replay is then stored once', async () => {
    const real = SqliteStore.open(':memory:');
    let failNext = true;
    const flakyEvents: EventStore = Object.assign(Object.create(real.events) as EventStore, {
      appendEvents: async (...args: Parameters<EventStore['appendEvents']>) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk I/O error');
        }
        return real.events.appendEvents(...args);
      },
    });
    const flaky: Store = { fleet: real.fleet, events: flakyEvents, outbox: real.outbox, silences: real.silences, jobs: real.jobs, history: real.history, maintenance: real.maintenance, audit: real.audit, prune: (before) => real.prune(before), checkWritable: () => real.checkWritable(), close: () => real.close() };
    const t = await startTestCoordinator('', { store: flaky });
    try {
      const url = wsUrl(t.coord);
      const first = await TestAgent.hello(url, 'gpu-f', 'f1');
      first.agent.send(events([event(1, { agentId: 'gpu-f', bootId: 'f1' })]));
      const closed = await first.agent.closed;
      assert.equal(closed.code, CloseCode.InternalError);
      assert.equal(first.agent.inbox.filter((m) => m.type === 'ack').length, 0);
      const second = await TestAgent.hello(url, 'gpu-f', 'f1');
      assert.equal(second.welcome.ackedSeq, null);
      second.agent.send(events([event(1, { agentId: 'gpu-f', bootId: 'f1' })]));
      await second.agent.ackedUpTo(1, 'f1');
      assert.equal((await real.events.listEvents({})).length, 1);
      assert.match(t.logs(), /processing an agent message failed/);
      await second.agent.closeAndWait();
    } finally {
      await t.close();
      await real.close();
    }
  });
});
