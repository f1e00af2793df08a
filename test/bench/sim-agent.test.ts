/**
 * bench/lib/sim-agent.ts's load-generation side, against a stand-in coordinator (a bare `ws`
 * server that welcomes, acks on request, closes and refuses on request): automatic reconnect
 * with the replay of unacknowledged events, shared counters, first-send times for lag, the
 * once-a-second probe round and the agent's own heartbeat. The simulator is what the
 * coordinator-scale benchmark measures with, so what it counts must be right.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { AgentMessage, CoordinatorMessage } from '../../shared/protocol/messages.js';
import { newSimCounters, SimAgent, type SpooledEvent } from '../../bench/lib/sim-agent.js';

/** What the stand-in does with the next upgrade or frame. */
interface Script {
  refuse: boolean;
  ack: boolean;
}

const script: Script = { refuse: false, ack: false };
const received: AgentMessage[] = [];
const sockets: WebSocket[] = [];
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: (_info, done) => done(!script.refuse, 401) });
wss.on('connection', (ws) => {
  sockets.push(ws);
  ws.on('message', (data) => answer(ws, JSON.parse(String(data)) as AgentMessage));
});
await new Promise((r) => wss.once('listening', r));
const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/agent`;

after(() => {
  for (const ws of sockets) ws.terminate();
  wss.close();
});

function answer(ws: WebSocket, msg: AgentMessage): void {
  received.push(msg);
  const send = (m: CoordinatorMessage) => ws.send(JSON.stringify(m));
  if (msg.type === 'hello') send({ type: 'welcome', v: PROTOCOL_VERSION, agentId: msg.agentId, ackedSeq: null });
  if (msg.type === 'events' && script.ack) send({ type: 'ack', v: PROTOCOL_VERSION, bootId: msg.events.at(-1)!.bootId, seq: msg.events.at(-1)!.seq });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; !cond(); await sleep(10)) if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
}

function lastSocket(): WebSocket {
  return sockets.at(-1)!;
}

test('reconnects after a close it did not ask for, replays the unacked event, reports its first-send time', async () => {
  received.length = 0;
  script.ack = false;
  const counters = newSimCounters();
  const acked: SpooledEvent[] = [];
  const seen: string[] = [];
  const agent = new SimAgent({ url, token: 't', id: 'sim-re', services: 2, inboxLimit: 0, reconnect: { minMs: 20, jitterMs: 20 }, counters, onAck: (_a, _n, _at, events) => acked.push(...events), onMessage: (_a, m) => seen.push(m.type) });
  await agent.connect();
  assert.equal(agent.probeRound(), 2);
  assert.equal(agent.heartbeat(), true);
  const beforeSend = performance.now();
  agent.setState('degraded', 'slow', ['svc-0'], { probes: 'later' });
  await until(() => received.some((m) => m.type === 'events'), 'the event');
  const firstSocket = lastSocket();
  firstSocket.close(1011, 'stand-in restarting');
  await until(() => !agent.connected, 'the close');

  script.ack = true;
  await until(() => agent.connected && lastSocket() !== firstSocket, 'the reconnect');
  await agent.waitAcked(1, 5_000);
  assert.equal(acked.length, 1);
  assert.ok(acked[0]!.firstSentAt! >= beforeSend && acked[0]!.firstSentAt! < performance.now(), 'first-send time is the first send, not the replay');
  assert.deepEqual(
    received.map((m) => m.type),
    ['hello', 'snapshot', 'probes', 'heartbeat', 'events', 'hello', 'snapshot', 'events'],
  );
  const round = received.find((m) => m.type === 'probes');
  assert.equal(round?.type === 'probes' && round.results.length, 2);
  assert.deepEqual({ ...counters }, { connectAttempts: 2, welcomes: 2, disconnects: 1, connectFailures: 0, closeCodes: { 1011: 1 }, upgradeRefusals: {} });
  assert.deepEqual(seen, ['welcome', 'welcome', 'ack']);
  assert.equal(agent.inbox.length, 0);

  await agent.disconnect();
  await sleep(80);
  assert.equal(counters.connectAttempts, 2, 'no reconnect after disconnect()');
  assert.equal(counters.disconnects, 1, 'a close asked for is not counted');
});

test('refused upgrades are counted and retried until terminate()', async () => {
  script.refuse = true;
  const counters = newSimCounters();
  const agent = new SimAgent({ url, token: 't', id: 'sim-refused', reconnect: { minMs: 20, jitterMs: 0 }, counters });
  await assert.rejects(agent.connect(), /upgrade refused with HTTP 401/);
  await until(() => counters.connectAttempts >= 3, 'two retries');
  agent.terminate();
  const attempts = counters.connectAttempts;
  await sleep(80);
  script.refuse = false;
  assert.equal(counters.connectAttempts, attempts, 'no retry after terminate()');
  assert.equal(counters.upgradeRefusals['401'], counters.connectFailures);
  assert.equal(counters.welcomes, 0);
});

test('4001 (replaced) is not fought: no reconnect', async () => {
  const counters = newSimCounters();
  const agent = new SimAgent({ url, token: 't', id: 'sim-replaced', reconnect: { minMs: 20, jitterMs: 0 }, counters });
  await agent.connect();
  lastSocket().close(4001, 'replaced');
  await until(() => !agent.connected, 'the close');
  await sleep(80);
  assert.deepEqual({ connectAttempts: counters.connectAttempts, disconnects: counters.disconnects, closeCodes: counters.closeCodes }, { connectAttempts: 1, disconnects: 1, closeCodes: { 4001: 1 } });
});

test('without the new options an agent keeps its inbox and does not reconnect', async () => {
  const agent = new SimAgent({ url, token: 't', id: 'sim-plain' });
  await agent.connect();
  lastSocket().close(1011, 'gone');
  await until(() => !agent.connected, 'the close');
  await sleep(80);
  assert.equal(agent.counters.connectAttempts, 1);
  assert.deepEqual(agent.inbox.map((m) => m.type), ['welcome']);
  assert.deepEqual(agent.closes, [{ code: 1011, reason: 'gone' }]);
});
