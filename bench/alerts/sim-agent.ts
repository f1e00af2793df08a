/**
 * Simulated agents for the alert-storm benchmark, speaking the REAL agent protocol
 * (shared/protocol) over real WebSockets to the coordinator's `/agent`, as
 * test/helpers/sim-agents.ts does (copied and trimmed here: bench code does not import
 * test code) and the way agent/link/client.ts sends:
 *
 * - upgrade with the Bearer token, `hello` (services), wait for `welcome`, then `snapshot`
 *   (every service healthy, consistent with what it will report);
 * - a service failing is one `state_changed` event (healthy → down, per-agent bootId, seq
 *   1, 2, 3 ... never skipping); the events of one call go in one `events` frame (the
 *   real agent coalesces the events of one tick), and the matching probe results go in a
 *   `probes` frame: at once (`down(names, { probes: true })`, as the test helper does) or
 *   with the agent's next once-a-second probe flush (`flushProbes()`, as the real agent);
 * - acknowledgements are counted (`ackedSeq`); the coordinator acks after the SQLite commit.
 *
 * Every frame from the coordinator is validated (parseCoordinatorMessage); the first frame
 * of each type we send is validated too (checkAgentMessage), the rest are built the same way.
 * Every wait is bounded; close() terminates the socket.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { AgentMessage, Event, ProbeResult, SnapshotService } from '../../shared/protocol/messages.js';
import { checkAgentMessage, encodeMessage, parseCoordinatorMessage } from '../../shared/protocol/parse.js';

const EVENTS_PER_MESSAGE = 500;
const checked = new Set<string>();

interface SimService {
  name: string;
  state: 'healthy' | 'down';
  reason: string;
  since: string;
  probeAt: string;
  /** changed since the last probes frame */
  dirty: boolean;
}

export interface AckListener {
  (agent: SimAgent, newlyAcked: number, at: number): void;
}

export class SimAgent {
  readonly bootId = randomBytes(9).toString('base64url');
  readonly services: SimService[] = [];
  private readonly byName = new Map<string, SimService>();
  ackedSeq = 0;
  seq = 0;
  invalidFrames = 0;
  closes: { code: number; reason: string }[] = [];
  private ws: WebSocket | null = null;
  private welcomed = false;
  private onWelcome: (() => void) | null = null;

  constructor(
    readonly url: string,
    readonly token: string,
    readonly id: string,
    serviceCount: number,
    private readonly onAck: AckListener = () => undefined,
  ) {
    const now = new Date().toISOString();
    for (let i = 0; i < serviceCount; i++) {
      const s: SimService = { name: `svc-${i}`, state: 'healthy', reason: 'ready', since: now, probeAt: now, dirty: false };
      this.services.push(s);
      this.byName.set(s.name, s);
    }
  }

  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  get unacked(): number {
    return this.seq - this.ackedSeq;
  }

  /** bytes queued in the socket, not yet written */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  async connect(timeoutMs = 15_000): Promise<void> {
    const ws = new WebSocket(this.url, { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(ws, data as Buffer));
    ws.on('close', (code, reason) => {
      this.closes.push({ code, reason: reason.toString() });
      this.welcomed = false;
    });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.id}: no welcome within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.onWelcome = null;
        ws.terminate();
        reject(err);
      };
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        fail(new Error(`${this.id}: upgrade refused with HTTP ${res.statusCode}`));
      });
      ws.once('close', () => fail(new Error(`${this.id}: closed before welcome`)));
      this.onWelcome = () => {
        clearTimeout(timer);
        this.onWelcome = null;
        resolve();
      };
      ws.once('open', () => {
        this.send({ type: 'hello', v: PROTOCOL_VERSION, agentId: this.id, bootId: this.bootId, labels: {}, agentVersion: 'bench-sim-0.0.0', services: this.services.map((s, i) => ({ name: s.name, kind: 'vllm', url: `http://127.0.0.1:${18000 + (i % 1000)}` })) });
      });
    });
    this.send({ type: 'snapshot', v: PROTOCOL_VERSION, services: this.services.map((s, i) => this.snapshotOf(s, i)), gpu: null });
  }

  /**
   * Services move healthy → down: one `state_changed` event each, in one `events` frame;
   * with `probes`, a `probes` frame saying the same right after. Returns how many events.
   */
  down(names: readonly string[], opts: { probes: boolean; reason?: string }): number {
    const at = new Date().toISOString();
    const reason = opts.reason ?? 'connection refused (unit inactive)';
    const events: Event[] = [];
    for (const name of names) {
      const s = this.byName.get(name);
      if (!s || s.state === 'down') continue;
      events.push({ agentId: this.id, bootId: this.bootId, seq: ++this.seq, at, type: 'state_changed', service: name, from: s.state, to: 'down', reason });
      s.state = 'down';
      s.reason = reason;
      s.since = at;
      s.probeAt = at;
      s.dirty = true;
    }
    for (let i = 0; i < events.length; i += EVENTS_PER_MESSAGE) this.send({ type: 'events', v: PROTOCOL_VERSION, events: events.slice(i, i + EVENTS_PER_MESSAGE) });
    if (opts.probes) this.flushProbes();
    return events.length;
  }

  /** healthy again: `state_changed` down → healthy, then probes (phase 1's resolve step). */
  recover(names: readonly string[]): number {
    const at = new Date().toISOString();
    const events: Event[] = [];
    for (const name of names) {
      const s = this.byName.get(name);
      if (!s || s.state === 'healthy') continue;
      events.push({ agentId: this.id, bootId: this.bootId, seq: ++this.seq, at, type: 'state_changed', service: name, from: s.state, to: 'healthy', reason: 'ready' });
      s.state = 'healthy';
      s.reason = 'ready';
      s.since = at;
      s.probeAt = at;
      s.dirty = true;
    }
    for (let i = 0; i < events.length; i += EVENTS_PER_MESSAGE) this.send({ type: 'events', v: PROTOCOL_VERSION, events: events.slice(i, i + EVENTS_PER_MESSAGE) });
    this.flushProbes();
    return events.length;
  }

  /** One `probes` frame with the services changed since the last one (the real agent does this once a second). */
  flushProbes(): void {
    const results: ProbeResult[] = [];
    for (const s of this.services) {
      if (!s.dirty) continue;
      s.dirty = false;
      const ok = s.state === 'healthy';
      results.push({ service: s.name, ok, state: s.state, latencyMs: ok ? 12 : null, at: s.probeAt });
    }
    for (let i = 0; i < results.length; i += 1000) this.send({ type: 'probes', v: PROTOCOL_VERSION, results: results.slice(i, i + 1000) });
  }

  close(): void {
    this.ws?.terminate();
    this.ws = null;
  }

  private snapshotOf(s: SimService, i: number): SnapshotService {
    const ok = s.state === 'healthy';
    return { name: s.name, kind: 'vllm', url: `http://127.0.0.1:${18000 + (i % 1000)}`, state: s.state, reason: s.reason, since: s.since, lastProbe: { ok, latencyMs: ok ? 12 : null, at: s.probeAt }, restarts: { count: 0, lastAt: null, lastOutcome: null } };
  }

  private send(msg: AgentMessage): void {
    if (!checked.has(msg.type)) {
      const problem = checkAgentMessage(msg);
      if (problem) throw new Error(`${this.id}: would send an invalid ${msg.type}: ${problem}`);
      checked.add(msg.type);
    }
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeMessage(msg));
  }

  private onFrame(ws: WebSocket, data: Buffer): void {
    const parsed = parseCoordinatorMessage(data);
    if (!parsed.ok) {
      this.invalidFrames++;
      ws.close(4400, 'invalid frame');
      return;
    }
    const msg = parsed.msg;
    if (msg.type === 'welcome') {
      this.welcomed = true;
      this.onWelcome?.();
    } else if (msg.type === 'ack' && msg.bootId === this.bootId && msg.seq > this.ackedSeq) {
      const n = msg.seq - this.ackedSeq;
      this.ackedSeq = msg.seq;
      this.onAck(this, n, Date.now());
    }
  }
}

/**
 * Compiles the protocol validators the first `events`/`probes` frames would compile (they
 * are built lazily), so a burst's send loop measures sending, not schema compilation.
 */
export function warmUpValidators(): void {
  const at = new Date().toISOString();
  const msgs: AgentMessage[] = [
    { type: 'events', v: PROTOCOL_VERSION, events: [{ agentId: 'warm-up', bootId: 'warmup', seq: 1, at, type: 'state_changed', service: 'svc-0', from: 'healthy', to: 'down', reason: 'warm-up' }] },
    { type: 'probes', v: PROTOCOL_VERSION, results: [{ service: 'svc-0', ok: false, state: 'down', latencyMs: null, at }] },
  ];
  for (const m of msgs) {
    const problem = checkAgentMessage(m);
    if (problem) throw new Error(`warm-up ${m.type} invalid: ${problem}`);
    checked.add(m.type);
    encodeMessage(m);
  }
}

/** Connects `agents`, at most `parallel` handshakes at a time; bounded by each connect's timeout. */
export async function connectAll(agents: readonly SimAgent[], parallel = 25): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: Math.min(parallel, queue.length) }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await a.connect();
    }),
  );
}
