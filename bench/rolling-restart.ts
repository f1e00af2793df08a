/**
 * Rolling restart: how much a restart job's scheduling adds on top of the servers' own
 * load times. A coordinator process (`node dist/cli/main.js coordinator`, SQLite in a temp
 * dir, log level warn) carries simulated agents (bench/lib/sim-agent.ts, the real protocol)
 * that answer each `command` as the real agent does: `command_received`, the service
 * `starting`, `command_result` ok, and after a simulated load time (seeded, uniform in
 * --load-min..--load-max) a `state_changed` to healthy with its probe result. One job
 * restarts every target (`hosts: ["*"]`) with --max-parallel (default 10).
 *
 * Measured, at the simulated agents (one clock, performance.now()):
 *   - hand-off delay: from a "healthy" report being sent to the next restart command
 *     arriving. Each healthy report frees one slot, so command k (k ≥ maxParallel, in
 *     arrival order) is paired with healthy report k − maxParallel (in send order). This is
 *     the coordinator's own delay (storing the step in SQLite, choosing the next target)
 *     plus two loopback hops and this process's event loop: an upper bound. Goal p99 < 50 ms.
 *   - the job's total time against the ideal, the baseline measured in the same run: the
 *     sum of the load times drawn for this run / maxParallel.
 *   - that every target was commanded exactly once and ended healthy.
 *
 * node dist/bench/rolling-restart.js [--targets N] [--max-parallel N] [--load-min D] [--load-max D]
 * Results: .bench-out/rolling-restart-latest.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnCoordinator } from './lib/coordinator.js';
import { pollUntil, stopGroup } from './lib/proc.js';
import { fmt, fmtRatio, machineInfo, max, parseDurationArg, percentile, printTable, ratio, runBench, seededRandom, writeResult } from './lib/report.js';
import { SimFleet, type SimAgent } from './lib/sim-agent.js';

const NAME = 'rolling-restart';
const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', 'cli', 'main.js');
const AGENT_TOKEN = 'bench-agent-token-0123456789';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const SERVICES_PER_AGENT = 4;
const GOAL_P99_MS = 50;

const { values } = parseArgs({
  options: { targets: { type: 'string' }, 'max-parallel': { type: 'string' }, 'load-min': { type: 'string' }, 'load-max': { type: 'string' } },
  strict: true,
  allowPositionals: false,
});
const TARGETS = Number(values.targets ?? 200);
const MAX_PARALLEL = Number(values['max-parallel'] ?? 10);
const LOAD_MIN_MS = parseDurationArg(values['load-min'] as string | undefined, 200);
const LOAD_MAX_MS = parseDurationArg(values['load-max'] as string | undefined, 600);
if (!Number.isInteger(TARGETS) || TARGETS < SERVICES_PER_AGENT || TARGETS % SERVICES_PER_AGENT !== 0 || TARGETS > 4000) throw new Error(`--targets: a multiple of ${SERVICES_PER_AGENT} up to 4000`);
if (!Number.isInteger(MAX_PARALLEL) || MAX_PARALLEL < 1 || MAX_PARALLEL > 100) throw new Error('--max-parallel: 1..100');
if (!(LOAD_MIN_MS > 0 && LOAD_MAX_MS >= LOAD_MIN_MS)) throw new Error('--load-min/--load-max: 0 < min <= max');

runBench(NAME, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-bench-rolling-'));
  const coord = await spawnCoordinator({
    cli: CLI,
    dir,
    yaml: (port) => `listen: 127.0.0.1:${port}\ndataDir: ./data\nauth:\n  agentTokens: ['${AGENT_TOKEN}']\n  adminTokens: [{ name: bench, token: '${ADMIN_TOKEN}' }]\n`,
  });
  const random = seededRandom(42);
  const loadTimes: number[] = [];
  const healthySentAt: number[] = [];
  const commandAt: number[] = [];
  const commandsPerTarget = new Map<string, number>();
  const fleet = new SimFleet({
    url: `ws://127.0.0.1:${coord.port}/agent`,
    token: AGENT_TOKEN,
    count: TARGETS / SERVICES_PER_AGENT,
    services: SERVICES_PER_AGENT,
    validateOutgoing: 'first-of-type',
    inboxLimit: 0,
    onMessage: (agent: SimAgent, msg) => {
      if (msg.type !== 'command') return;
      const key = `${agent.id}/${msg.service}`;
      commandsPerTarget.set(key, (commandsPerTarget.get(key) ?? 0) + 1);
      commandAt.push(performance.now());
    },
    commands: {
      loadTimeMs: () => {
        const ms = LOAD_MIN_MS + random() * (LOAD_MAX_MS - LOAD_MIN_MS);
        loadTimes.push(ms);
        return ms;
      },
      onHealthy: (_agent, _service, sentAt) => healthySentAt.push(sentAt),
    },
  });
  try {
    await fleet.connectAll(25);
    console.log(`${NAME}: ${fleet.agents.length} agents × ${SERVICES_PER_AGENT} services connected; one job, maxParallel ${MAX_PARALLEL}`);
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${coord.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000), ...(body ? { body: JSON.stringify(body) } : {}) });
    const t0 = performance.now();
    const res = await api('POST', '/api/v1/restarts', { selector: { hosts: ['*'] }, maxParallel: MAX_PARALLEL, healthTimeout: '5m', reason: 'benchmark' });
    if (res.status !== 202) throw new Error(`POST /api/v1/restarts: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    // the job ends when its last target is reported healthy; ideal ~ sum/maxParallel, so 20× that is generous
    const bound = Math.max(60_000, (20 * TARGETS * LOAD_MAX_MS) / MAX_PARALLEL);
    const job = await pollUntil(async () => {
      const j = (await (await api('GET', `/api/v1/restarts/${id}`)).json()) as { state: string; endedAt: string | null; startedAt: string | null; counts: Record<string, number>; targets: { state: string }[] };
      return ['pending', 'running'].includes(j.state) ? null : j;
    }, bound, 50);
    const totalMs = performance.now() - t0;
    if (!job) throw new Error(`the job did not end within ${bound / 1000} s`);
    const jobMs = Date.parse(job.endedAt!) - Date.parse(job.startedAt!);

    const delays: number[] = [];
    for (let k = MAX_PARALLEL; k < commandAt.length; k++) {
      const healthy = healthySentAt[k - MAX_PARALLEL];
      if (healthy !== undefined) delays.push(commandAt[k]! - healthy);
    }
    delays.sort((a, b) => a - b);
    const idealMs = loadTimes.reduce((a, b) => a + b, 0) / MAX_PARALLEL;
    const repeated = [...commandsPerTarget.values()].filter((n) => n !== 1).length;
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    printTable(`${NAME}: ${TARGETS} simulated targets, maxParallel ${MAX_PARALLEL}, load ${LOAD_MIN_MS}–${LOAD_MAX_MS} ms`, ['figure', 'ours', 'baseline (same run)', 'ratio', 'goal'], [
      ['hand-off: healthy report sent → next command received, p50', `${fmt(p50, 1)} ms`, '—', '—', '—'],
      ['hand-off, p99', `${fmt(p99, 1)} ms`, '—', '—', `< ${GOAL_P99_MS} ms: ${p99 !== null && p99 < GOAL_P99_MS ? 'met' : 'NOT met'}`],
      ['hand-off, max', `${fmt(max(delays), 1)} ms`, '—', '—', '—'],
      ['job time (POST → job ended, seen by polling every 50 ms)', `${fmt(totalMs / 1000, 2)} s`, `ideal ${fmt(idealMs / 1000, 2)} s`, fmtRatio(ratio(totalMs, idealMs)), '—'],
      ['job time (the job\'s own startedAt → endedAt)', `${fmt(jobMs / 1000, 2)} s`, `ideal ${fmt(idealMs / 1000, 2)} s`, fmtRatio(ratio(jobMs, idealMs)), '—'],
      ['job state / targets healthy', `${job.state} / ${job.targets.filter((t) => t.state === 'healthy').length} of ${TARGETS}`, '—', '—', 'succeeded, all'],
      ['targets commanded other than exactly once', String(repeated + (TARGETS - commandsPerTarget.size)), '—', '—', '0'],
    ]);
    const warnings = coord.warnings();
    if (warnings.count) console.log(`${NAME}: coordinator warnings: ${JSON.stringify(warnings.kinds)}`);
    const file = writeResult(NAME, {
      machine: machineInfo(),
      targets: TARGETS,
      maxParallel: MAX_PARALLEL,
      loadMs: { min: LOAD_MIN_MS, max: LOAD_MAX_MS, seed: 42 },
      handOffMs: { p50, p99, max: max(delays), n: delays.length, samples: delays },
      jobMs: { pollTotal: totalMs, ownStartToEnd: jobMs, ideal: idealMs, ratio: ratio(totalMs, idealMs) },
      job: { state: job.state, counts: job.counts },
      commandsNotExactlyOnce: repeated + (TARGETS - commandsPerTarget.size),
      coordinatorWarnings: warnings,
    });
    console.log(`\n${NAME}: results in ${file}`);
    if (job.state !== 'succeeded') throw new Error(`the job ended ${job.state}`);
  } finally {
    fleet.close();
    await stopGroup(coord.child);
    rmSync(dir, { recursive: true, force: true });
  }
});
