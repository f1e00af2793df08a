import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRoundState, runRound, TRAIL_MAX, type RoundOptions, type RoundState } from '../../../agent/probes/round.js';
import type { MetricsRead, Probe, ProbeAttempt, ProbeContext, ProbeLevel, ProbeOutcome, RoundResult } from '../../../agent/probes/types.js';
import { FakeClock, flushMicrotasks } from '../../../shared/clock.js';
import type { ServiceConfig } from '../../../shared/config/agent-config.js';

const PRIMARY = 'http://127.0.0.1:8002';
const FALLBACK = 'http://127.0.0.1:8003';

function svc(extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name: 'qwen-vl', kind: 'vllm', url: PRIMARY, fallbackUrls: [], labels: {}, metrics: 'auto', metricsPath: '/metrics',
    interval: 10_000, timeout: 10_000, retries: 3, retryDelay: 2_000, startupGrace: 600_000, recoverAfter: 2, stallAfter: 60_000,
    ...extra,
  };
}
const DEEP = { every: 60_000, timeout: 30_000, vision: false, prompt: 'Say OK.' };

interface Call {
  level: ProbeLevel | 'metrics';
  url: string;
  at: number;
  timeoutMs: number;
}

type Script = Partial<Record<ProbeLevel, ProbeOutcome[]>> & { metrics?: (MetricsRead | 'throw')[]; byUrl?: Record<string, ProbeOutcome> };

/** A probe that answers from a script (last entry repeats) and logs every call with the fake time. */
function scripted(clock: FakeClock, script: Script, opts: { readyIsAlive?: boolean; noDeep?: boolean } = {}) {
  const calls: Call[] = [];
  const answer = (level: ProbeLevel, url: string, ctx: ProbeContext): Promise<ProbeAttempt> => {
    calls.push({ level, url, at: clock.now(), timeoutMs: ctx.timeoutMs });
    const queue = script[level] ?? ['ok'];
    const outcome = script.byUrl?.[url] ?? (queue.length > 1 ? queue.shift()! : queue[0]!);
    return Promise.resolve({ level, outcome, url, latencyMs: 5, detail: `${level} ${outcome}` });
  };
  const probe: Probe = {
    kind: 'vllm',
    readyIsAlive: opts.readyIsAlive,
    alive: (url, ctx) => answer('alive', url, ctx),
    ready: (url, ctx) => answer('ready', url, ctx),
    deep: opts.noDeep ? undefined : (url, ctx) => answer('deep', url, ctx),
    metrics: script.metrics
      ? (url, ctx) => {
          calls.push({ level: 'metrics', url, at: clock.now(), timeoutMs: ctx.timeoutMs });
          const q = script.metrics!;
          const next = q.length > 1 ? q.shift()! : q[0]!;
          if (next === 'throw') return Promise.reject(new Error('boom'));
          // stamped like a real scrape: the tracker measures stalls by sample time
          return Promise.resolve(next.status === 'ok' ? { ...next, sample: { ...next.sample, at: clock.now() } } : next);
        }
      : undefined,
  };
  const count = (level: Call['level'], url?: string) => calls.filter((c) => c.level === level && (!url || c.url === url)).length;
  return { probe, calls, count };
}

/** Runs a round while moving the fake clock, so retry sleeps pass without real waiting. */
async function drive(clock: FakeClock, service: ServiceConfig, probe: Probe, opts: Partial<RoundOptions> & { state?: RoundState } = {}): Promise<RoundResult> {
  let done = false;
  const round = runRound(service, probe, { clock, state: opts.state ?? createRoundState(), ...opts }).finally(() => (done = true));
  for (let i = 0; i < 10_000; i++) {
    // let the round register its next sleep at the current time before time moves
    await flushMicrotasks();
    if (done) break;
    await clock.advance(100);
  }
  return round;
}

const sample = (progress: number, running = 0, waiting = 0): MetricsRead => ({ status: 'ok', sample: { at: 0, running, waiting, progress }, detail: 'm' });

describe('retries', () => {
  test('a healthy server: one attempt, alive then ready, served by the primary', async () => {
    const clock = new FakeClock();
    const { probe, calls } = scripted(clock, {});
    const r = await drive(clock, svc(), probe);
    assert.equal(r.outcome, 'ok');
    assert.equal(r.primaryOk, true);
    assert.equal(r.primaryOutcome, 'ok');
    assert.equal(r.servedBy, PRIMARY);
    assert.equal(r.attempts, 1);
    assert.equal(r.latencyMs, 10, 'alive + ready of the passing attempt');
    assert.deepEqual(calls.map((c) => c.level), ['alive', 'ready']);
    assert.equal(calls[0]!.timeoutMs, 10_000);
    assert.equal(r.at, Date.UTC(2026, 0, 1));
  });
  test('failures are retried `retries` times, `retryDelay` apart', async () => {
    const clock = new FakeClock();
    const { probe, calls } = scripted(clock, { alive: ['timeout', 'http_error', 'ok'] });
    const r = await drive(clock, svc(), probe);
    assert.equal(r.outcome, 'ok');
    assert.equal(r.attempts, 3);
    const alive = calls.filter((c) => c.level === 'alive').map((c) => c.at - calls[0]!.at);
    assert.deepEqual(alive, [0, 2_000, 4_000]);
    assert.deepEqual(r.trail.map((a) => a.outcome), ['timeout', 'http_error', 'ok', 'ok']);
  });
  test('exhausted retries: the last failure, with the count', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { ready: ['bad_response'] });
    const r = await drive(clock, svc({ retries: 4 }), probe);
    assert.equal(r.outcome, 'bad_response');
    assert.equal(r.primaryOk, false);
    assert.equal(r.servedBy, undefined);
    assert.equal(r.attempts, 4);
    assert.equal(count('alive'), 4);
    assert.equal(r.detail, 'ready bad_response');
  });
  for (const outcome of ['busy', 'loading'] as const) {
    test(`${outcome} is a final answer: no retry, no fallback`, async () => {
      const clock = new FakeClock();
      const { probe, count } = scripted(clock, { alive: [outcome] });
      const r = await drive(clock, svc({ fallbackUrls: [FALLBACK] }), probe);
      assert.equal(r.outcome, outcome);
      assert.equal(r.attempts, 1);
      assert.equal(count('alive', FALLBACK), 0);
    });
  }
  test('model_missing is not retried on the same URL', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { ready: ['model_missing'] });
    const r = await drive(clock, svc(), probe);
    assert.equal(r.outcome, 'model_missing');
    assert.equal(r.attempts, 1);
  });
  test('onAttemptFailed hears each failed primary attempt that a retry follows', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['timeout', 'http_error', 'timeout'], byUrl: {} });
    const heard: string[] = [];
    const r = await drive(clock, svc({ fallbackUrls: [FALLBACK] }), probe, { onAttemptFailed: (a) => heard.push(`${a.url} ${a.outcome}`) });
    assert.equal(r.outcome, 'timeout');
    assert.deepEqual(heard, [`${PRIMARY} timeout`, `${PRIMARY} http_error`], 'not the last attempt, not the fallback');
    const quiet = scripted(clock, { alive: ['busy'] });
    const throwing = await drive(clock, svc(), quiet.probe, { onAttemptFailed: () => { throw new Error('observer bug'); } });
    assert.equal(throwing.outcome, 'busy');
  });
  test('the trail is bounded, newest last', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['timeout'] });
    const r = await drive(clock, svc({ retries: 20, retryDelay: 10 }), probe);
    assert.equal(r.attempts, 20);
    assert.equal(r.trail.length, TRAIL_MAX);
  });
  test('a probe that throws is an error outcome, not a thrown round', async () => {
    const clock = new FakeClock();
    const probe: Probe = { kind: 'vllm', alive: () => Promise.reject(new TypeError('bug')), ready: () => Promise.reject(new TypeError('bug')) };
    const r = await drive(clock, svc({ retries: 2 }), probe);
    assert.equal(r.outcome, 'error');
    assert.match(r.detail, /probe threw: bug/);
  });
  test('readyIsAlive probes are asked once per attempt', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, {}, { readyIsAlive: true, noDeep: true });
    await drive(clock, svc(), probe);
    assert.equal(count('alive'), 1);
    assert.equal(count('ready'), 0);
  });
});

describe('crash evidence', () => {
  test('refused + evidence: stop retrying at once', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { alive: ['refused'] });
    let asked = 0;
    const r = await drive(clock, svc(), probe, { crashEvidence: async () => (asked++, true) });
    assert.equal(r.outcome, 'refused');
    assert.equal(r.crash, true);
    assert.equal(r.attempts, 1);
    assert.equal(count('alive'), 1);
    assert.equal(asked, 1);
    assert.equal(r.detail, 'alive refused', 'the count and the evidence are fields, not prose');
  });
  test('refused without evidence (a starting vLLM): retries continue, evidence asked once', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['refused'] });
    let asked = 0;
    const r = await drive(clock, svc(), probe, { crashEvidence: async () => (asked++, false) });
    assert.equal(r.attempts, 3);
    assert.equal(r.crash, undefined);
    assert.equal(asked, 1);
  });
  test('a failing evidence hook counts as no evidence', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['refused'] });
    const r = await drive(clock, svc(), probe, { crashEvidence: () => Promise.reject(new Error('systemctl gone')) });
    assert.equal(r.attempts, 3);
  });
  test('timeouts never ask for evidence', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['timeout'] });
    let asked = 0;
    await drive(clock, svc(), probe, { crashEvidence: async () => (asked++, true) });
    assert.equal(asked, 0);
  });
});

describe('fallbacks', () => {
  test('primary down, fallback up: ok, servedBy the fallback, primaryOk false', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { byUrl: { [PRIMARY]: 'refused', 'http://127.0.0.1:8004': 'timeout', [FALLBACK]: 'ok' } });
    const r = await drive(clock, svc({ fallbackUrls: ['http://127.0.0.1:8004', FALLBACK] }), probe, { crashEvidence: async () => true });
    assert.equal(r.outcome, 'ok');
    assert.equal(r.servedBy, FALLBACK);
    assert.equal(r.primaryOk, false);
    assert.equal(r.primaryOutcome, 'refused');
    assert.equal(r.crash, true);
    assert.equal(r.attempts, 1);
    assert.match(r.detail, /served by fallback http:\/\/127\.0\.0\.1:8003/);
    assert.equal(count('alive', 'http://127.0.0.1:8004'), 3, 'fallbacks in order, each with retries');
    assert.match(r.detail, /fallback http:\/\/127\.0\.0\.1:8004: alive timeout/);
  });
  test('every URL down: the primary outcome, fallback failures noted', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { byUrl: { [PRIMARY]: 'timeout', [FALLBACK]: 'refused' } });
    const r = await drive(clock, svc({ fallbackUrls: [FALLBACK], retries: 2 }), probe);
    assert.equal(r.outcome, 'timeout');
    assert.equal(r.servedBy, undefined);
    assert.equal(r.attempts, 2);
    assert.equal(count('alive', FALLBACK), 2, 'the fallback gets the same ladder');
    assert.match(r.detail, /fallback http:\/\/127\.0\.0\.1:8003: alive refused/);
  });
});

describe('deep probes', () => {
  test('due on the first round, with its own timeout; not due again until `every` has passed', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, calls, count } = scripted(clock, {});
    const service = svc({ deepProbe: { ...DEEP, vision: true } });
    const r1 = await drive(clock, service, probe, { state });
    assert.equal(r1.deep?.outcome, 'ok');
    assert.equal(calls.find((c) => c.level === 'deep')!.timeoutMs, 30_000);
    assert.equal(r1.latencyMs, 15);
    await clock.advance(30_000);
    const r2 = await drive(clock, service, probe, { state });
    assert.equal(r2.deep, undefined);
    assert.equal(count('deep'), 1);
    await clock.advance(30_000);
    const r3 = await drive(clock, service, probe, { state });
    assert.equal(r3.deep?.outcome, 'ok');
    assert.equal(count('deep'), 2);
  });
  test('the deep probe gets vision and prompt from the config', async () => {
    const clock = new FakeClock();
    let seen: unknown;
    const probe: Probe = {
      kind: 'llamacpp',
      readyIsAlive: true,
      alive: async (url) => ({ level: 'alive', outcome: 'ok', url, latencyMs: 1, detail: '' }),
      ready: async (url) => ({ level: 'ready', outcome: 'ok', url, latencyMs: 1, detail: '' }),
      deep: async (url, ctx) => ((seen = { vision: ctx.vision, prompt: ctx.prompt }), { level: 'deep', outcome: 'ok', url, latencyMs: 1, detail: '' }),
    };
    await drive(clock, svc({ deepProbe: { ...DEEP, vision: true, prompt: 'Describe.' } }), probe);
    assert.deepEqual(seen, { vision: true, prompt: 'Describe.' });
  });
  test('a failing deep probe fails the round after retries, and stays due', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, count } = scripted(clock, { deep: ['timeout'] });
    const service = svc({ deepProbe: DEEP });
    const r = await drive(clock, service, probe, { state });
    assert.equal(r.outcome, 'timeout');
    assert.equal(r.deep?.outcome, 'timeout');
    assert.equal(r.attempts, 3);
    assert.equal(count('deep'), 3);
    await clock.advance(10_000);
    await drive(clock, service, probe, { state });
    assert.equal(count('deep'), 6, 'still due the next round');
  });
  test('a busy deep probe is busy, without retries', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { deep: ['busy'] });
    const r = await drive(clock, svc({ deepProbe: DEEP }), probe);
    assert.equal(r.outcome, 'busy');
    assert.equal(count('deep'), 1);
  });
  test('a deep probe that times out while the metrics show work in progress is busy: no retries, no fallback', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    // every slot busy with long generations: the probe's request is queued behind them
    const { probe, count } = scripted(clock, { deep: ['timeout'], metrics: [sample(5_255, 4, 1), sample(9_651, 4, 1)] });
    const service = svc({ deepProbe: DEEP, fallbackUrls: [FALLBACK] });
    const r = await drive(clock, service, probe, { state });
    assert.equal(r.outcome, 'busy');
    assert.equal(r.deep?.outcome, 'busy');
    assert.match(r.detail, /queued behind 4 running, 1 waiting request\(s\), progress \+4396/);
    assert.equal(count('deep'), 1, 'no retry adds to the queue');
    assert.equal(count('alive', FALLBACK), 0);
    assert.equal(r.stall?.progressed, true);
  });
  test('a deep probe that times out while nothing moves is still a failure', async () => {
    for (const metrics of [[sample(100, 2, 0)], [sample(100, 0, 0), sample(120, 0, 0)]]) {
      const clock = new FakeClock();
      const { probe, count } = scripted(clock, { deep: ['timeout'], metrics });
      const r = await drive(clock, svc({ deepProbe: DEEP }), probe);
      assert.equal(r.outcome, 'timeout');
      assert.equal(count('deep'), 3);
    }
  });
  test('without metrics, a server that shows its slots still decoding makes a timed-out deep probe busy', async () => {
    for (const [work, outcome, deeps] of [[{ running: 2, progressed: true }, 'busy', 1], [{ running: 2, progressed: false }, 'timeout', 3], [undefined, 'timeout', 3]] as const) {
      const clock = new FakeClock();
      const { probe, count } = scripted(clock, { deep: ['timeout'] });
      let asked = 0;
      probe.workInProgress = async () => (asked++, work);
      const r = await drive(clock, svc({ deepProbe: DEEP }), probe);
      assert.equal(r.outcome, outcome);
      assert.equal(count('deep'), deeps);
      assert.equal(asked, deeps, 'asked after each timed-out deep probe');
      if (outcome === 'busy') assert.match(r.detail, /queued behind 2 busy slot\(s\) still decoding/);
    }
  });
  test('a configuration mismatch (images for a text-only model) is not retried', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { deep: ['mismatch'] });
    const r = await drive(clock, svc({ deepProbe: { ...DEEP, vision: true } }), probe);
    assert.equal(r.outcome, 'mismatch');
    assert.equal(count('deep'), 1);
  });
  test('a fallback gets its own deep probe', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, { byUrl: { [PRIMARY]: 'refused' } });
    const r = await drive(clock, svc({ fallbackUrls: [FALLBACK], deepProbe: DEEP }), probe);
    assert.equal(r.servedBy, FALLBACK);
    assert.equal(r.deep?.url, FALLBACK);
    assert.equal(count('deep', FALLBACK), 1);
  });
  test('kinds without a deep probe ignore deepProbe', async () => {
    const clock = new FakeClock();
    const { probe, count } = scripted(clock, {}, { noDeep: true });
    const r = await drive(clock, svc({ deepProbe: DEEP }), probe);
    assert.equal(r.deep, undefined);
    assert.equal(count('deep'), 0);
  });
});

describe('metrics-aware probing', () => {
  test('progress counters that moved since the last deep probe count as a passed deep probe', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    // round 1: baseline unknown -> real deep; round 2: re-read baseline after our own token;
    // round 3: counters moved -> credited; round 4: counters still -> real deep
    const { probe, count } = scripted(clock, { metrics: [sample(100, 1), sample(101, 1), sample(500, 2), sample(500, 0)] });
    const service = svc({ deepProbe: DEEP });
    const r1 = await drive(clock, service, probe, { state });
    assert.equal(r1.deep?.inferred, undefined);
    assert.equal(count('deep'), 1);
    assert.equal(r1.metrics?.progress, 100);
    await clock.advance(20_000);
    const r2 = await drive(clock, service, probe, { state });
    assert.equal(r2.deep, undefined);
    await clock.advance(60_000);
    const r3 = await drive(clock, service, probe, { state });
    assert.equal(r3.outcome, 'ok');
    assert.equal(r3.deep?.outcome, 'ok');
    assert.equal(r3.deep?.inferred, true);
    assert.match(r3.deep!.detail, /progress counters moved \(\+399/);
    assert.equal(count('deep'), 1, 'no request sent');
    await clock.advance(60_000);
    const r4 = await drive(clock, service, probe, { state });
    assert.equal(r4.deep?.inferred, undefined);
    assert.equal(count('deep'), 2);
  });
  test('a counter reset (server restarted) is not progress', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, count } = scripted(clock, { metrics: [sample(1000), sample(1001), sample(3)] });
    const service = svc({ deepProbe: DEEP });
    await drive(clock, service, probe, { state });
    await clock.advance(10_000);
    await drive(clock, service, probe, { state });
    await clock.advance(60_000);
    const r = await drive(clock, service, probe, { state });
    assert.equal(r.deep?.inferred, undefined);
    assert.equal(count('deep'), 2);
  });
  test('the stall observation rides on the result', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe } = scripted(clock, { metrics: [sample(50, 4, 8)] });
    await drive(clock, svc(), probe, { state });
    await clock.advance(10_000);
    await drive(clock, svc(), probe, { state });
    await clock.advance(10_000);
    const r = await drive(clock, svc(), probe, { state });
    assert.deepEqual(r.stall, { progressed: false, queued: true, stalledForMs: 10_000 });
    assert.equal(state.lastMetrics?.progress, 50);
  });
  test("metrics 'auto': a 404 stops asking for that service", async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, count } = scripted(clock, { metrics: [{ status: 'absent', detail: '/metrics: HTTP 404 (metrics not exposed)' }] });
    const r = await drive(clock, svc(), probe, { state });
    assert.doesNotMatch(r.detail, /metrics/);
    await drive(clock, svc(), probe, { state });
    assert.equal(count('metrics'), 1);
    assert.equal(state.metricsSupported, false);
  });
  test("metrics 'auto': a blip is retried next round", async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, count } = scripted(clock, { metrics: [{ status: 'failed', detail: 'timeout' }, 'throw', sample(1)] });
    await drive(clock, svc(), probe, { state });
    await drive(clock, svc(), probe, { state });
    const r = await drive(clock, svc(), probe, { state });
    assert.equal(count('metrics'), 3);
    assert.equal(r.metrics?.progress, 1);
  });
  test('metrics true: missing metrics are a warning in the detail, and asked every round', async () => {
    const clock = new FakeClock();
    const state = createRoundState();
    const { probe, count } = scripted(clock, { metrics: [{ status: 'absent', detail: '/metrics: HTTP 404 (metrics not exposed)' }] });
    const r = await drive(clock, svc({ metrics: true }), probe, { state });
    assert.equal(r.outcome, 'ok');
    assert.match(r.detail, /metrics: \/metrics: HTTP 404/);
    await drive(clock, svc({ metrics: true }), probe, { state });
    assert.equal(count('metrics'), 2);
  });
  test('metrics false: never asked; metrics read once per round (and after each deep timeout), on the primary only', async () => {
    const clock = new FakeClock();
    const off = scripted(clock, { metrics: [sample(1)] });
    await drive(clock, svc({ metrics: false }), off.probe);
    assert.equal(off.count('metrics'), 0);
    const on = scripted(clock, { metrics: [sample(1)], deep: ['timeout'], byUrl: {} });
    await drive(clock, svc({ deepProbe: DEEP, fallbackUrls: [FALLBACK] }), on.probe);
    // once for the round, then after each of the 3 deep timeouts: busy or hung?
    assert.equal(on.count('metrics'), 4);
    assert.equal(on.count('metrics', FALLBACK), 0);
  });
});

describe('abort', () => {
  test('an aborted round returns what it has instead of sleeping on', async () => {
    const clock = new FakeClock();
    const { probe } = scripted(clock, { alive: ['timeout'] });
    const ac = new AbortController();
    const round = runRound(svc({ retries: 5 }), probe, { clock, state: createRoundState(), signal: ac.signal });
    await clock.advance(100);
    ac.abort();
    const r = await round;
    assert.equal(r.outcome, 'timeout');
    assert.equal(r.attempts, 1);
  });
});
