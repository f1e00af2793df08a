/**
 * CPU per probe: our prober (the agent's own runRound, createProbe and keep-alive
 * dispatcher, in process and warm) against the seed's way (bash forking
 * `curl -sf --max-time 10 http://127.0.0.1:PORT/health` once per probe), both against the
 * same emulated vLLM server.
 *
 *   ours: process.cpuUsage() of this process over N back-to-back rounds (and over rounds
 *         paced 100 ms apart, closer to the agent's real pace: timer wake-ups, colder caches), per round;
 *   seed: utime+stime of reaped children (cutime+cstime in /proc/self/stat) over one
 *         `bash -c 'for ...; do curl ...; done'` run with spawnSync, per curl.
 * The emulator is a separate, still-running process, so its CPU is in neither figure (it is
 * measured from /proc/PID/stat and shown alongside, per request, for reference only).
 *
 * Then the same from outside (bench/lib/whole-process.ts): the whole agent process's CPU
 * per request with 8 services at 1 s, against a bash loop forking curl at the same pace and
 * against a bare Node.js keep-alive client at that pace (what any Node.js prober pays).
 *
 * npm run bench -- probe-cost [--runs N]   (N = seed probes, default 300; ours does 10×N)
 */
import { spawnSync } from 'node:child_process';
import { AGENT_V8_FLAGS, runOnInterpreter } from '../agent/v8-flags.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProbeDispatcher } from '../agent/probes/http-client.js';
import { createProbe } from '../agent/probes/registry.js';
import { createRoundState, runRound } from '../agent/probes/round.js';
import { systemClock } from '../shared/clock.js';
import { parseAgentConfig } from '../shared/config/agent-config.js';
import { CLK_TCK, procTimes, spawnGroup, stopGroup } from './lib/proc.js';
import { benchArgs, fmt, fmtRatio, machineInfo, printTable, runBench, writeResult } from './lib/report.js';
import { CLI, freePort, waitHealthy } from './lib/services.js';
import { measureWholeProcess, perRequest, WHOLE_PROCESS_TOOLS } from './lib/whole-process.js';

interface Measure {
  label: string;
  probes: number;
  /** HTTP requests per probe (a vLLM round reads /health, /v1/models and /metrics) */
  requestsPerProbe: number;
  cpuMs: number;
  wallMs: number;
  cpuMsPerProbe: number;
  emulatorCpuMs: number;
  emulatorCpuMsPerProbe: number;
}

const TICK_MS = 1000 / CLK_TCK;

async function main(): Promise<void> {
  const args = benchArgs();
  // as the agent and `check` run it (agent/v8-flags.ts)
  runOnInterpreter();
  const seedProbes = Math.max(1, args.runs ?? 300);
  const ourProbes = seedProbes * 10;

  const port = await freePort();
  const emulator = spawnGroup(process.execPath, [CLI, 'emulate', '--kind', 'vllm', '--port', String(port)], { stdio: 'ignore' });
  const measures: Measure[] = [];
  const dispatcher = createProbeDispatcher();
  try {
    if (!(await waitHealthy(port, '/health'))) throw new Error('emulator did not come up');
    const emuCpu = () => {
      const t = procTimes(emulator.pid!);
      if (!t) throw new Error('cannot read the emulator\'s /proc stat');
      return t.self * TICK_MS;
    };

    const config = parseAgentConfig(
      'probe-cost.yaml',
      `agent: { id: bench }
defaults: { interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms }
gpu: { enabled: false }
services:
  - { name: h, kind: http, url: "http://127.0.0.1:${port}" }
  - { name: v, kind: vllm, url: "http://127.0.0.1:${port}" }
`,
    );
    const [httpSvc, vllmSvc] = config.services as [(typeof config.services)[0], (typeof config.services)[0]];

    const ours = async (label: string, service: typeof httpSvc, requestsPerProbe: number, n: number, pauseMs: number): Promise<Measure> => {
      const probe = createProbe(service, { clock: systemClock, dispatcher });
      const state = createRoundState();
      const round = async () => {
        const r = await runRound(service, probe, { clock: systemClock, state });
        if (r.outcome !== 'ok') throw new Error(`${label}: round outcome ${r.outcome}: ${r.detail}`);
      };
      for (let i = 0; i < 200; i++) await round(); // warm: JIT, keep-alive socket
      const emu0 = emuCpu();
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      for (let i = 0; i < n; i++) {
        await round();
        if (pauseMs) await sleep(pauseMs);
      }
      const c = process.cpuUsage(c0);
      const wallMs = performance.now() - w0;
      const emulatorCpuMs = emuCpu() - emu0;
      const cpuMs = (c.user + c.system) / 1000;
      return { label, probes: n, requestsPerProbe, cpuMs, wallMs, cpuMsPerProbe: cpuMs / n, emulatorCpuMs, emulatorCpuMsPerProbe: emulatorCpuMs / n };
    };

    measures.push(await ours('ours: http round, GET /health, back to back', httpSvc, 1, ourProbes, 0));
    measures.push(await ours('ours: http round, GET /health, 100 ms apart', httpSvc, 1, Math.min(ourProbes, 150), 100));
    measures.push(await ours('ours: vllm round (/health+/v1/models+/metrics)', vllmSvc, 3, ourProbes, 0));

    // the seed: bash forks curl once per probe
    const url = `http://127.0.0.1:${port}/health`;
    const script = `for i in $(seq ${seedProbes}); do curl -sf --max-time 10 ${url} > /dev/null || exit 1; done`;
    spawnSync('bash', ['-c', `for i in 1 2 3 4 5 6 7 8 9 10; do curl -sf --max-time 10 ${url} > /dev/null; done`]); // warm the page cache
    const before = procTimes('self')!;
    const emu0 = emuCpu();
    const w0 = performance.now();
    const res = spawnSync('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10 * 60_000 });
    const wallMs = performance.now() - w0;
    const after = procTimes('self')!;
    const emulatorCpuMs = emuCpu() - emu0;
    if (res.status !== 0) throw new Error(`bash+curl loop failed (status ${res.status}): ${res.stderr?.toString()}`);
    const cpuMs = (after.children - before.children) * TICK_MS;
    measures.push({ label: 'seed: bash forking curl -sf --max-time 10 /health', probes: seedProbes, requestsPerProbe: 1, cpuMs, wallMs, cpuMsPerProbe: cpuMs / seedProbes, emulatorCpuMs, emulatorCpuMsPerProbe: emulatorCpuMs / seedProbes });
  } finally {
    await dispatcher.close().catch(() => undefined);
    await stopGroup(emulator, 3_000);
  }

  const seed = measures[measures.length - 1]!;
  printTable(
    `probe cost: CPU per probe (this process for ours, bash+curl children for the seed; emulator excluded); ratio = seed / ours (× cheaper); ours under the agent's V8 flags ${AGENT_V8_FLAGS.join(' ')}`,
    ['prober', 'probes', 'CPU total', 'CPU/probe', 'seed/ours', 'emulator CPU/probe'],
    measures.map((m) => [
      m.label, String(m.probes), fmt(m.cpuMs, 0, ' ms'), fmt(m.cpuMsPerProbe, 3, ' ms'),
      m === seed ? '1.00× (baseline)' : fmtRatio(seed.cpuMsPerProbe / m.cpuMsPerProbe), fmt(m.emulatorCpuMsPerProbe, 3, ' ms'),
    ]),
  );
  const headline = measures[0]!;
  const cheaper = seed.cpuMsPerProbe / headline.cpuMsPerProbe;
  const full = seed.cpuMsPerProbe / measures[2]!.cpuMsPerProbe;
  console.log(`\ngoal: our probe ≥ 25× cheaper than bash+curl: ${cheaper >= 25 ? 'MET' : 'MISSED'} (${cheaper.toFixed(1)}× for the same GET /health; a full vLLM round of 3 requests is ${full.toFixed(1)}× cheaper than one curl)`);

  // the same question from outside: the whole agent process, everything it does per probe
  const whole = await measureWholeProcess(3, 30_000);
  const agentPerRequest = perRequest(whole, 'agent');
  const barePerRequest = perRequest(whole, 'bare node client');
  const loopPerRequest = perRequest(whole, 'bash+curl');
  const wholeRatio = loopPerRequest / agentPerRequest;
  printTable(
    'whole-process CPU per probe: the agent process (8 services at 1 s, its unit\'s environment), a bare Node.js keep-alive client at the same pace (the floor for any Node.js prober), a bash loop forking curl per server per second; CPU over each window / HTTP requests the servers received',
    ['tool', 'windows', 'requests', 'CPU total', 'CPU/request', 'per window', 'bash+curl / tool'],
    WHOLE_PROCESS_TOOLS.map((tool) => {
      const mine = whole.filter((w) => w.tool === tool);
      const per = perRequest(whole, tool);
      return [
        tool, String(mine.length), String(mine.reduce((n, w) => n + w.requests, 0)), fmt(mine.reduce((n, w) => n + w.cpuMs, 0), 0, ' ms'), fmt(per, 3, ' ms'),
        mine.map((w) => w.cpuMsPerRequest.toFixed(3)).join(' / '), tool === 'bash+curl' ? '1.00× (baseline)' : fmtRatio(loopPerRequest / per),
      ];
    }),
  );
  console.log(`\ngoal: the whole agent process ≥ 25× cheaper per probe than bash+curl: ${wholeRatio >= 25 ? 'MET' : 'MISSED'} (${wholeRatio.toFixed(1)}×; the bare Node.js client: ${(loopPerRequest / barePerRequest).toFixed(1)}×, the agent costs ${(agentPerRequest / barePerRequest).toFixed(2)}× what it does)`);

  const file = writeResult('probe-cost', {
    benchmark: 'probe-cost',
    machine: machineInfo(),
    figures: {
      seedCpuMsPerProbe: seed.cpuMsPerProbe,
      oursHttpCpuMsPerProbe: headline.cpuMsPerProbe,
      oursHttpPacedCpuMsPerProbe: measures[1]!.cpuMsPerProbe,
      oursVllmRoundCpuMsPerProbe: measures[2]!.cpuMsPerProbe,
      ratioSeedOverOursHttp: cheaper,
      ratioSeedOverOursHttpPaced: seed.cpuMsPerProbe / measures[1]!.cpuMsPerProbe,
      ratioSeedOverOursVllmRound: full,
      wholeAgentCpuMsPerRequest: agentPerRequest,
      wholeBareNodeClientCpuMsPerRequest: barePerRequest,
      wholeBashCurlCpuMsPerRequest: loopPerRequest,
      ratioWholeBashCurlOverBareNodeClient: loopPerRequest / barePerRequest,
      ratioWholeBashCurlOverAgent: wholeRatio,
    },
    goals: { atLeast25xCheaper: cheaper >= 25, wholeProcessAtLeast25xCheaper: wholeRatio >= 25 },
    measures,
    wholeProcessWindows: whole,
  });
  console.log(`\nresult: ${file}`);
}

runBench('probe-cost', main);
