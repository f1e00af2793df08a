import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE } from '../../../coordinator/main.js';
import { CloseCode } from '../../../shared/protocol/constants.js';
import type { Event } from '../../../shared/protocol/messages.js';
import { T0, event, events, hello, iso } from '../protocol-samples.js';
import { TestAgent, eventually, startTestCoordinator, wsUrl } from '../helpers.js';

/**
 * Two authenticated agents, each with a token bound to its own id, send 10,000 seeded frames:
 * events in order, replays, skipped seqs declared lost by gaps (some claiming losses up to
 * 2^53-1), agent restarts (new boot), and attacks on the other agent — hellos as it, events
 * and gaps in its name, garbage frames. Whatever was refused must leave no trace: at the end
 * each agent's stored events are exactly the events it sent on its own behalf.
 */
const FRAMES = 10_000;
const SEED = 0x5eed_2026;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sim {
  id: string;
  token: string;
  boot: number;
  seq: number;
  sent: Map<string, Event>;
  agent: TestAgent | null;
}

const key = (e: Pick<Event, 'bootId' | 'seq'>) => `${e.bootId}#${e.seq}`;

test('fuzz: 10,000 frames from two agents; each stores exactly what it sent for itself', { timeout: 180_000 }, async () => {
  const tokens = { 'gpu-a': 'fuzz-token-a-0123456789', 'gpu-b': 'fuzz-token-b-0123456789' };
  const t = await startTestCoordinator('', {}, { agentTokens: `\n    - { token: ${tokens['gpu-a']}, agents: [gpu-a] }\n    - { token: ${tokens['gpu-b']}, agents: [gpu-b] }` });
  const url = wsUrl(t.coord);
  const rnd = mulberry32(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let clock = 0;
  const sims: Sim[] = (['gpu-a', 'gpu-b'] as const).map((id) => ({ id, token: tokens[id], boot: 1, seq: 0, sent: new Map(), agent: null }));
  const bootId = (s: Sim) => `${s.id}-boot${s.boot}`;
  const ev = (s: Sim, seq: number, overrides: Partial<Event> = {}): Event => event(seq, { agentId: s.id, bootId: bootId(s), at: iso(T0 + ++clock), reason: `${s.id} ${seq}`, ...overrides });

  async function connected(s: Sim): Promise<TestAgent> {
    if (s.agent && s.agent.ws.readyState === s.agent.ws.OPEN) return s.agent;
    const { agent } = await TestAgent.hello(url, s.id, bootId(s), s.token);
    s.agent = agent;
    return agent;
  }
  /** A frame that must be refused: sent on a fresh socket, which must close with `code`. */
  async function refused(token: string, frames: unknown[], code: number): Promise<void> {
    const a = await TestAgent.connect(url, token);
    for (const f of frames) a.send(f);
    assert.equal((await a.closed).code, code);
  }

  let framesSent = 0;
  let refusals = 0;
  try {
    while (framesSent < FRAMES) {
      const s = pick(sims);
      const other = sims.find((o) => o !== s)!;
      const r = rnd();
      if (r < 0.55) {
        // 1-3 new events in order
        const batch = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ev(s, ++s.seq));
        (await connected(s)).send(events(batch));
        for (const e of batch) s.sent.set(key(e), e);
        framesSent++;
      } else if (r < 0.7 && s.sent.size > 0) {
        // a replay of something already sent (same content): stored once
        const old = pick([...s.sent.values()].slice(-20));
        (await connected(s)).send(events([old]));
        framesSent++;
      } else if (r < 0.78) {
        // the spool lost a few: a gap declares them (sometimes absurdly far) and they are skipped
        const lost = 1 + Math.floor(rnd() * 4);
        const toSeq = rnd() < 0.3 ? Number.MAX_SAFE_INTEGER : s.seq + lost;
        const gap = ev(s, s.seq + lost + 1, { type: 'gap', service: undefined, from: undefined, to: undefined, data: { lost: [{ bootId: bootId(s), fromSeq: s.seq + 1, toSeq, count: lost }] } });
        s.seq += lost + 1;
        (await connected(s)).send(events([gap]));
        s.sent.set(key(gap), gap);
        framesSent++;
      } else if (r < 0.8) {
        // the agent restarts: a new boot, seq from 1
        await s.agent?.closeAndWait();
        s.agent = null;
        s.boot++;
        s.seq = 0;
      } else if (r < 0.86) {
        // hello as the other agent, then its "events": refused, nothing stored
        await refused(s.token, [hello(other.id, `forged-${framesSent}`), events([ev(other, other.seq + 1, { reason: 'forged' })])], CloseCode.Forbidden);
        framesSent += 2;
        refusals++;
      } else if (r < 0.92) {
        // its own hello, then an event or a gap in the other agent's name: refused
        const forged = rnd() < 0.5 ? ev(other, other.seq + 1, { reason: 'forged next seq' }) : ev(other, other.seq + 1, { type: 'gap', service: undefined, from: undefined, to: undefined, data: { lost: [{ bootId: bootId(other), fromSeq: 1, toSeq: Number.MAX_SAFE_INTEGER, count: 1 }] } });
        await refused(s.token, [hello(s.id, bootId(s)), events([ev(s, s.seq + 1, { reason: 'in a refused frame' }), forged])], CloseCode.ProtocolViolation);
        framesSent += 2;
        refusals++;
      } else {
        // garbage on its own connection: closed, and the agent reconnects
        const a = await connected(s);
        a.send(pick(['{', '[]', '{"type":"events","v":1,"events":[{"seq":"x"}]}', JSON.stringify({ type: 'nope', v: 1 })]));
        await a.closed;
        s.agent = null;
        framesSent++;
        refusals++;
      }
    }

    const db = new Database(join(t.dir, DB_FILE), { readonly: true });
    try {
      const stored = (id: string) => (db.prepare('SELECT payload FROM events WHERE agent_id = ?').pluck().all(id) as string[]).map((p) => JSON.parse(p) as Event);
      for (const s of sims) {
        await eventually(() => stored(s.id).length >= s.sent.size, 20_000, `${s.id}: ${s.sent.size} events stored`);
        const got = new Map(stored(s.id).map((e) => [key(e), e]));
        assert.equal(got.size, s.sent.size, `${s.id}: as many stored as sent`);
        for (const [k, e] of s.sent) assert.deepEqual(got.get(k), JSON.parse(JSON.stringify(e)), `${s.id} ${k}`);
      }
      const foreign = db.prepare("SELECT COUNT(*) FROM events WHERE payload LIKE '%forged%' OR payload LIKE '%refused frame%'").pluck().get();
      assert.equal(foreign, 0);
    } finally {
      db.close();
    }
    assert.ok(refusals > 500, `the run exercised refusals (${refusals})`);
    assert.deepEqual((await t.coord.store.fleet.listAgents()).map((a) => a.id), ['gpu-a', 'gpu-b'], 'no other host was created');
  } finally {
    for (const s of sims) s.agent?.ws.terminate();
    await t.close();
  }
});
