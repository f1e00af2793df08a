/**
 * The agent against a llama.cpp server that is busy, full, text-only or hung — once against
 * the emulator and once against a real `llama-server` with a real (tiny) model, with the
 * same assertions, so the emulator is held to the real server's behaviour.
 *
 * The real server and model are found through LLMH_LLAMA_SERVER / LLMH_LLAMA_MODEL, or in
 * ../shared/ beside the checkout; where they are absent that half is skipped, saying so. Both
 * run as units of the service-manager stand-in, so the agent's restarts really restart them.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHarness, agentYaml, CLI, freePort, waitFor, type AgentProcess, type Harness, type LoggedEvent } from '../helpers/agent-harness.js';
import { findLlamaServer, metricsOf, startGenerations, type Generations } from '../helpers/llama-server.js';

interface Target {
  name: string;
  skip: string | false;
  /** the unit's command line for a server on `port` with `slots` slots and no vision model */
  execStart(port: number, slots: number, metrics: boolean): string[];
}

const real = findLlamaServer();
const targets: Target[] = [
  {
    name: 'emulator',
    skip: false,
    execStart: (port, slots, metrics) => [process.execPath, CLI, 'emulate', '--kind', 'llamacpp', '--port', String(port), metrics ? '--metrics' : '--no-metrics', '--slots', String(slots), '--no-vision', '--tokens-per-second', '2000'],
  },
  {
    name: 'real llama-server',
    skip: real.ok ? false : real.why,
    execStart: (port, slots, metrics) =>
      real.ok ? [real.server, '-m', real.model, '--host', '127.0.0.1', '--port', String(port), ...(metrics ? ['--metrics'] : []), '-c', '256', '-np', String(slots), '--context-shift'] : [],
  },
];

const LONG = 1_000_000; // tokens: far longer than any scenario; the clients are cut off at its end

const restarts = (agent: AgentProcess) => agent.events.filter((e) => e.type === 'restart_started');
const isState = (to: string) => (e: LoggedEvent) => e.type === 'state_changed' && e.to === to;

/** The agent's service entry; `metrics: true` unless told the server has none. */
function service(port: number, unit: string, extra = '', metrics = true): string {
  return `  - name: llama\n    kind: llamacpp\n    url: http://127.0.0.1:${port}\n    unit: ${unit}\n${metrics ? '    metrics: true\n' : ''}${extra}`;
}

for (const target of targets) {
  describe(`llama.cpp: ${target.name}`, { skip: target.skip }, () => {
    let h: Harness;
    let generations: Generations[] = [];
    before(() => {
      h = createHarness();
    });
    after(async () => {
      for (const g of generations) g.stop();
      await h.cleanup();
    });

    /** a fresh server unit; returns its port once /health answers 200 */
    async function startServer(unit: string, slots: number, opts: { timeoutStopSec?: string; metrics?: boolean } = {}): Promise<number> {
      const port = await freePort();
      h.sandbox.writeUnit(unit, { execStart: target.execStart(port, slots, opts.metrics ?? true), timeoutStopSec: opts.timeoutStopSec ?? '3s' });
      await h.start(unit);
      await waitFor(() => h.healthy(`http://127.0.0.1:${port}/health`), 15_000, `${unit} answering /health`);
      return port;
    }

    /** After `ms`, the agent has restarted nothing and the server is the same process. */
    async function leftAlone(agent: AgentProcess, unit: string, pid: number, ms: number): Promise<void> {
      await sleep(ms);
      assert.deepEqual(restarts(agent).map((e) => e.reason), [], 'no restart');
      assert.equal(h.sandbox.mainPid(unit), pid);
    }

    function generate(port: number, count: number): Generations {
      const g = startGenerations(port, count, LONG);
      generations.push(g);
      return g;
    }

    async function untilProcessing(port: number, running: number, deferred = 0): Promise<void> {
      await waitFor(async () => {
        const m = await metricsOf(port);
        return m.get('llamacpp:requests_processing') === running && m.get('llamacpp:requests_deferred') === deferred;
      }, 15_000, `${running} requests processing, ${deferred} deferred`);
    }

    test('long generations: tokens_predicted_total stands still, n_decode_total moves, and 3 × stallAfter pass without a restart', async () => {
      const unit = 'long-gen.service';
      const port = await startServer(unit, 4);
      const pid = h.sandbox.mainPid(unit);
      const gen = generate(port, 3);
      await untilProcessing(port, 3);
      const agent = h.spawnAgent(agentYaml(service(port, unit, '    deepProbe: { every: 2s, timeout: 2s }\n    stallAfter: 2s\n')));
      await agent.waitEvent(isState('healthy'), 15_000, 'healthy');
      const before = await metricsOf(port);
      await sleep(3 * 2_000 + 1_000);
      const later = await metricsOf(port);
      assert.deepEqual(restarts(agent).map((e) => e.reason), [], 'no restart of a server that is generating');
      // what the real server does: progress only in the decode counter while requests run
      assert.equal(later.get('llamacpp:tokens_predicted_total'), before.get('llamacpp:tokens_predicted_total'), 'tokens_predicted_total moves only when a request ends');
      assert.ok(later.get('llamacpp:n_decode_total')! > before.get('llamacpp:n_decode_total')!, 'n_decode_total moves during generation');
      assert.equal(later.get('llamacpp:requests_processing'), 3);
      assert.equal(agent.events.filter((e) => e.type === 'state_changed' && (e.to === 'down' || e.to === 'unhealthy')).length, 0);
      assert.equal(h.sandbox.mainPid(unit), pid);
      assert.equal(gen.failed(), 0, 'no client was cut off');
      gen.stop();
      await agent.stop();
    });

    test('a deep probe queued behind full slots is degraded (busy), never restarted', async () => {
      const unit = 'full.service';
      const port = await startServer(unit, 2);
      const pid = h.sandbox.mainPid(unit);
      // /health stays 200 and the third request is queued, not refused
      const gen = generate(port, 3);
      await untilProcessing(port, 2, 1);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(health.status, 200, '/health answers 200 with every slot busy');
      await health.arrayBuffer();
      const agent = h.spawnAgent(agentYaml(service(port, unit, '    deepProbe: { every: 1s, timeout: 1s }\n')));
      const busy = await agent.waitEvent(isState('degraded'), 15_000, 'degraded (busy)');
      assert.match(busy.reason, /^busy: .*queued behind 2 running, \d+ waiting request\(s\)/);
      await leftAlone(agent, unit, pid, 5_000);
      assert.equal(gen.failed(), 0);
      gen.stop();
      await agent.stop();
    });

    test('without --metrics, a deep probe queued behind full slots is busy from /slots, never restarted', async () => {
      const unit = 'full-no-metrics.service';
      const port = await startServer(unit, 2, { metrics: false });
      const pid = h.sandbox.mainPid(unit);
      const gen = generate(port, 3);
      await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/slots`);
        const slots = (await res.json()) as { is_processing: boolean }[];
        return slots.filter((s) => s.is_processing).length === 2;
      }, 15_000, 'both slots processing');
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(metrics.status, 501, '/metrics needs --metrics');
      await metrics.arrayBuffer();
      const agent = h.spawnAgent(agentYaml(service(port, unit, '    deepProbe: { every: 1s, timeout: 1s }\n', false)));
      const busy = await agent.waitEvent(isState('degraded'), 15_000, 'degraded (busy)');
      assert.match(busy.reason, /^busy: .*queued behind 2 busy slot\(s\) still decoding/);
      await leftAlone(agent, unit, pid, 5_000);
      assert.equal(gen.failed(), 0);
      gen.stop();
      await agent.stop();
    });

    test('vision: true against a text-only server: degraded with the mismatch, never restarted; check exits 0 and prints why', async () => {
      const unit = 'text-only.service';
      const port = await startServer(unit, 4);
      const pid = h.sandbox.mainPid(unit);
      // the server's own answer and /props say it cannot take images
      const refusal = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: PNG } }] }], max_tokens: 1 }),
      });
      assert.equal(refusal.status, 500);
      assert.match(await refusal.text(), /image input is not supported/);
      const props = (await (await fetch(`http://127.0.0.1:${port}/props`)).json()) as { modalities?: { vision?: boolean } };
      assert.equal(props.modalities?.vision, false);

      const yaml = agentYaml(service(port, unit, '    deepProbe: { every: 1s, timeout: 5s, vision: true }\n'));
      const agent = h.spawnAgent(yaml);
      const degraded = await agent.waitEvent(isState('degraded'), 15_000, 'degraded (mismatch)');
      assert.match(degraded.reason, /^configuration mismatch: .*deepProbe\.vision is set but the server does not accept images/);
      await leftAlone(agent, unit, pid, 4_000);
      await agent.stop();

      const check = await runCheck(yaml, ['--json']);
      assert.equal(check.code, 0, check.stderr);
      const report = JSON.parse(check.stdout) as { ok: boolean; services: { state: string; reason: string; restarted: boolean }[] };
      assert.equal(report.ok, true);
      assert.equal(report.services[0]!.state, 'degraded');
      assert.match(report.services[0]!.reason, /configuration mismatch: .*set deepProbe\.vision: false/);
      assert.equal(report.services[0]!.restarted, false);
      const table = await runCheck(yaml, []);
      assert.equal(table.code, 0);
      assert.match(table.stdout, /degraded .*configuration mismatch/);
    });

    test('a hung server whose stop outlasts the old restart timeout (clients connected) is restarted exactly once', async () => {
      const unit = 'lingering.service';
      // systemctl restart waits for the whole stop: the server lingers after SIGTERM while its
      // clients are connected, until TimeoutStopSec (4 s) ends it with SIGKILL
      const port = await startServer(unit, 4, { timeoutStopSec: '4s' });
      const gen = generate(port, 2);
      await untilProcessing(port, 2);
      const agent = h.spawnAgent(agentYaml(service(port, unit), 'restart: { timeout: 1s, backoff: 1s }\n'));
      await agent.waitEvent(isState('healthy'), 15_000, 'healthy');
      const pid = h.sandbox.mainPid(unit);
      process.kill(pid, 'SIGSTOP');
      try {
        const started = await agent.waitEvent((e) => e.type === 'restart_started', 15_000, 'restart_started');
        assert.match(started.reason, /no answer within 1000ms \(3 attempts\)/);
        const done = await agent.waitEvent((e) => (e.type === 'restart_succeeded' || e.type === 'restart_failed') && e.seq > started.seq, 40_000, 'restart outcome');
        assert.equal(done.type, 'restart_succeeded', done.reason);
        assert.ok((done.data?.durationMs as number) >= 3_500, `the stop lingered until TimeoutStopSec (took ${String(done.data?.durationMs)} ms)`);
        await agent.waitEvent((e) => isState('healthy')(e) && e.seq > done.seq, 20_000, 'healthy again');
        await sleep(3_000);
        assert.equal(restarts(agent).length, 1, restarts(agent).map((e) => e.reason).join('\n'));
        assert.equal(agent.events.filter((e) => e.type === 'restart_failed').length, 0);
        assert.notEqual(h.sandbox.mainPid(unit), pid);
      } finally {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      gen.stop();
      await agent.stop();
    });

    test('a crash seen by the PID watch is healthy again within the starting poll, not the 10 s interval', async () => {
      const unit = 'crash.service';
      const port = await startServer(unit, 4);
      const agent = h.spawnAgent(agentYaml(service(port, unit, '    interval: 10s\n')));
      await agent.waitEvent(isState('healthy'), 15_000, 'healthy');
      process.kill(h.sandbox.mainPid(unit), 'SIGKILL');
      const done = await agent.waitEvent((e) => e.type === 'restart_succeeded', 15_000, 'restart_succeeded');
      const healthy = await agent.waitEvent((e) => isState('healthy')(e) && e.seq > done.seq, 15_000, 'healthy again');
      const ms = Date.parse(healthy.at) - Date.parse(done.at);
      // the starting poll is 1 s here; the old interval slot was up to 10 s away
      assert.ok(ms < 5_000, `healthy ${ms} ms after the restart`);
      await agent.stop();
    });

    async function runCheck(yaml: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const file = `${h.dir}/check-${Date.now()}.yaml`;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, yaml);
      return new Promise((resolve) => {
        execFile(process.execPath, [CLI, 'check', '-c', file, '--no-restart', ...args], { env: h.sandbox.env, timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
    }
  });
}

describe('llama.cpp emulator only', () => {
  let h: Harness;
  before(() => {
    h = createHarness();
  });
  after(async () => {
    await h.cleanup();
  });

  test('a true stall (requests processing, no counter moving) is still restarted after stallAfter', async () => {
    const port = await h.startEmulator('stall.service', 'llamacpp', ['--metrics']);
    const agent = h.spawnAgent(agentYaml(service(port, 'stall.service')));
    await agent.waitEvent(isState('healthy'), 15_000, 'healthy');
    await h.setMode(port, 'stall');
    const started = await agent.waitEvent((e) => e.type === 'restart_started', 20_000, 'restart_started');
    assert.match(started.reason, /^stalled: \d+ running, \d+ waiting, no progress for/);
    await agent.stop();
  });
});

/** 1×1 PNG, as the agent's own vision probe sends. */
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
