import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CloseCode } from '../../shared/protocol/constants.js';
import { agentSamples, event, events, hello } from './protocol-samples.js';
import { TestAgent, getJson, startTestCoordinator, wsUrl } from './helpers.js';
import { seededRandom } from '../../bench/lib/report.js';

/**
 * 10,000 random and mutated frames against a live coordinator over a few concurrent
 * connections. Every frame is confirmed processed before the next: the sender follows it
 * with a ping, and the coordinator either pongs (frame accepted) or has already closed the
 * socket (frame rejected), in which case the worker reconnects. Seeded, so a failure
 * reproduces with the same FUZZ_SEED.
 */

const TOTAL_FRAMES = 10_000;
const WORKERS = 8;
const MAX_PAYLOAD = 16_384;
const GOOD_EVENTS = 300;
const SEED = Number(process.env.FUZZ_SEED ?? 20260101);
const DOCUMENTED = new Set<number>([CloseCode.InvalidFrame, CloseCode.UnknownType, CloseCode.UnsupportedVersion, CloseCode.ProtocolViolation, CloseCode.TooLarge, CloseCode.MessageTooBig]);


class FrameGen {
  constructor(private readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  string(): string {
    return this.pick([
      () => '',
      () => 'x'.repeat(this.int(3000)),
      () => '\u0000\ud800\uffff<script>',
      () => '../../etc/passwd',
      () => '__proto__',
      () => 'constructor',
      () => String(this.rnd()),
      () => new Date(this.int(2 ** 42)).toISOString(),
      () => 'é😀'.repeat(this.int(50)),
    ])();
  }
  value(depth = 0): unknown {
    const kinds = depth > 3 ? 5 : 8;
    switch (this.int(kinds)) {
      case 0:
        return null;
      case 1:
        return this.rnd() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, 1]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) o[this.pick(['type', 'v', 'agentId', 'events', 'seq', 'data', this.string()])] = this.value(depth + 1);
        return o;
      }
    }
  }
  /** Replace, delete or add a key somewhere in a JSON tree. */
  mutate(node: unknown, depth = 0): unknown {
    if (Array.isArray(node)) {
      if (node.length === 0 || this.rnd() < 0.2) return this.rnd() < 0.5 ? [...node, this.value()] : Array.from({ length: 2000 }, () => node[0] ?? 1);
      const i = this.int(node.length);
      const copy = node.slice();
      copy[i] = this.mutate(copy[i], depth + 1);
      return copy;
    }
    if (node && typeof node === 'object') {
      const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const r = this.rnd();
      if (keys.length === 0 || r < 0.15) copy[this.pick(['extra', '__proto__', 'constructor', this.string().slice(0, 20)])] = this.value();
      else if (r < 0.3) delete copy[this.pick(keys)];
      else if (r < 0.5 || depth > 4) copy[this.pick(keys)] = this.value();
      else {
        const k = this.pick(keys);
        copy[k] = this.mutate(copy[k], depth + 1);
      }
      return copy;
    }
    return this.value();
  }
  frame(agentId: string): string | Buffer {
    const sample = (): Record<string, unknown> => {
      const msgs = agentSamples() as unknown as Record<string, unknown>[];
      const m = this.pick(msgs);
      return m.type === 'events' ? (events([event(1 + this.int(50), { agentId, bootId: 'fz' })]) as unknown as Record<string, unknown>) : m;
    };
    switch (this.int(10)) {
      case 0:
        return Buffer.from(Array.from({ length: this.int(300) }, () => this.int(256)));
      case 1:
        return JSON.stringify(this.value());
      case 2: {
        const text = JSON.stringify(sample());
        return text.slice(0, this.int(text.length));
      }
      case 3:
        return JSON.stringify({ ...sample(), v: this.pick([0, 2, 1.0000001, '1', null, -1, 1e9]) });
      case 4:
        return JSON.stringify({ ...sample(), type: this.pick(['', 'HELLO', 'ack', 'welcome', 'command', '__proto__', 'toString', this.string()]) });
      case 5:
        return this.rnd() < 0.3 ? 'x'.repeat(MAX_PAYLOAD + 1 + this.int(1000)) : `{"type":"events","v":1,"events":[{"data":${'['.repeat(5000)}${']'.repeat(5000)}}]}`;
      case 6:
        // textual prototype-pollution attempt: JSON.parse makes __proto__ an own key
        return `{"type":"heartbeat","v":1,"at":"2026-01-01T00:00:00Z","__proto__":{"polluted":true}}`;
      case 7:
        // valid messages interleaved, so accepted frames and their processing are in the mix
        return JSON.stringify(sample());
      default: {
        let m: unknown = sample();
        for (let i = 1 + this.int(3); i > 0; i--) m = this.mutate(m);
        return JSON.stringify(m);
      }
    }
  }
}

interface Outcome {
  accepted: number;
  closes: Map<number, number>;
}

async function fuzzWorker(url: string, worker: number, frames: number, gen: FrameGen, outcome: Outcome): Promise<void> {
  const agentId = `fuzz-${worker}`;
  const connect = async (): Promise<TestAgent> => {
    const a = await TestAgent.connect(url);
    a.send(hello(agentId, 'fz'));
    await a.next('welcome');
    return a;
  };
  let agent = await connect();
  for (let i = 0; i < frames; i++) {
    const frame = gen.frame(agentId);
    const result = await new Promise<'pong' | number>((resolve) => {
      const onPong = () => resolve('pong');
      agent.ws.once('pong', onPong);
      void agent.closed.then((c) => {
        agent.ws.off('pong', onPong);
        resolve(c.code);
      });
      agent.ws.send(frame, () => undefined);
      agent.ws.ping(undefined, undefined, () => undefined);
    });
    if (result === 'pong') {
      outcome.accepted++;
      continue;
    }
    outcome.closes.set(result, (outcome.closes.get(result) ?? 0) + 1);
    agent = await connect();
  }
  await agent.closeAndWait();
}

test(`fuzz: ${TOTAL_FRAMES} random and mutated frames leave the coordinator healthy with bounded memory`, { timeout: 180_000 }, async (ctx) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const t = await startTestCoordinator(`limits:\n  maxPayload: ${MAX_PAYLOAD}\nfleet:\n  helloTimeout: 5s\n`);
  try {
    const url = wsUrl(t.coord);
    // warm up (ajv, sqlite statements, ws) before the baseline
    const warm = await TestAgent.hello(url, 'warmup', 'w');
    warm.agent.send(events([event(1, { agentId: 'warmup', bootId: 'w' })]));
    await warm.agent.ackedUpTo(1, 'w');
    await warm.agent.closeAndWait();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    // a well-behaved agent streams events the whole time
    const good = await TestAgent.hello(url, 'gpu-good', 'g1');
    const goodRun = (async () => {
      for (let seq = 1; seq <= GOOD_EVENTS; seq += 3) {
        const batch = [seq, seq + 1, seq + 2].filter((s) => s <= GOOD_EVENTS).map((s) => event(s, { agentId: 'gpu-good', bootId: 'g1', service: 'llama' }));
        good.agent.send(events(batch));
        await good.agent.ackedUpTo(batch.at(-1)!.seq, 'g1', 30_000);
      }
    })();

    const outcome: Outcome = { accepted: 0, closes: new Map() };
    const rnd = seededRandom(SEED);
    const perWorker = Math.ceil(TOTAL_FRAMES / WORKERS);
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => fuzzWorker(url, w, perWorker, new FrameGen(seededRandom(Math.floor(rnd() * 2 ** 32))), outcome)));
    await goodRun;

    const processed = outcome.accepted + [...outcome.closes.values()].reduce((a, b) => a + b, 0);
    assert.ok(processed >= TOTAL_FRAMES, `processed ${processed}`);
    for (const code of outcome.closes.keys()) assert.ok(DOCUMENTED.has(code), `undocumented close code ${code}: ${JSON.stringify([...outcome.closes])}`);
    assert.ok((outcome.closes.get(CloseCode.InvalidFrame) ?? 0) > 1000, 'the fuzzer reached the validator');

    // still answering, and the good agent's events are all there, once each, in order
    const health = await getJson(`${t.coord.url}/healthz`);
    assert.equal(health.status, 200);
    const stored = await t.coord.store.events.listEvents({ host: 'gpu-good', limit: 10_000 });
    assert.deepEqual(stored.map((e) => e.seq), Array.from({ length: GOOD_EVENTS }, (_, i) => i + 1));
    assert.equal(t.coord.fleet.view().hosts.find((h) => h.id === 'gpu-good')!.connected, true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    await good.agent.closeAndWait();

    await new Promise((r) => setTimeout(r, 200));
    gc();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024 / 1024)} MiB`);
    assert.ok(t.coord.hub.connectionCount <= 1, `connections left open: ${t.coord.hub.connectionCount}`);
    ctx.diagnostic(`${processed} frames, ${outcome.accepted} accepted, closes ${JSON.stringify(Object.fromEntries(outcome.closes))}, heap ${(grown / 1024 / 1024).toFixed(1)} MiB`);
  } finally {
    await t.close();
  }
});
