/**
 * Footprint: our agent process watching 8 emulated servers of mixed kinds (interval 1 s,
 * timeout 1 s, each a stand-in unit it could restart) for 60 s, against monit doing 8 http
 * checks on a 1 s cycle over the same servers (same run, never both at once: 3 alternating
 * windows of 20 s each, so load from outside the benchmark hits both alike). CPU is the run
 * time of the process's threads (schedstat) over the window, as % of one core; memory is
 * VmRSS sampled every second and VmHWM (peak) from /proc/PID/status.
 *
 * --extra-processes N starts N idle `sleep` processes for the run: a GPU host has hundreds
 * of processes, and monit reads every one of them each cycle (its CPU grows with them).
 *
 * Children: the agent runs `systemctl show` now and then; here that is the stand-in, a
 * whole node process per call, so children CPU is reported apart from the agent's own
 * (real systemctl costs a few ms per call).
 *
 * npm run bench -- footprint [--duration 60s] [--monit-check process|host] [--no-monit]
 *   [--segments 3] [--extra-processes N] [--agent cli|bundle] [--agent-node-options "--max-semi-space-size=1 ..."]   (to explore)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readdirSync } from 'node:fs';
import { AGENT_BUNDLE, agentYaml, MIXED_FLEET, spawnAgent, startEmulatorFleet, type AgentService } from './lib/agent.js';
import { agentUnitEnvironment } from './lib/unit-env.js';
import { CLI } from './lib/services.js';
import { findMonit, MONIT_SKIP_MESSAGE, startMonit } from './lib/monit.js';
import type { ChildProcess } from 'node:child_process';
import { CLK_TCK, procMemory, procTimes, spawnGroup, stopGroup, threadCpuMs } from './lib/proc.js';
import { benchArgs, fmt, fmtRatio, machineInfo, max, mean, printTable, ratio, runBench, writeResult } from './lib/report.js';
import { alivePath, createBenchServices, emulatorRequests, type BenchServices } from './lib/services.js';

const KINDS = MIXED_FLEET;
const WARMUP_MS = 5_000;

interface Window {
  tool: 'ours' | 'monit';
  pid: number;
  wallMs: number;
  cpuPercent: number;
  childrenCpuPercent: number;
  rssMeanMb: number;
  rssMaxMb: number;
  hwmMb: number;
  /** the 8 servers' own CPU over the window: the load the checks put on them */
  serversCpuPercent: number;
  /** HTTP requests per second the tool sent to the 8 servers, and per server per second */
  requestsPerSecond: number | null;
  requestsPerServerSecond: number | null;
  rssSamplesMb: number[];
  /** processes on the machine during the window (monit's process checks scan them all every cycle) */
  processesOnMachine: number;
}

async function main(): Promise<void> {
  const args = benchArgs(undefined, { 'monit-check': { type: 'string' }, agent: { type: 'string' }, 'agent-node-options': { type: 'string' }, segments: { type: 'string' }, 'extra-processes': { type: 'string' }, 'agent-env': { type: 'string' }, 'no-unit-env': { type: 'boolean' } });
  const segments = Number((args.rest.segments as string | undefined) ?? 3);
  const extraProcesses = Number((args.rest['extra-processes'] as string | undefined) ?? 0);
  if (!Number.isInteger(extraProcesses) || extraProcesses < 0 || extraProcesses > 2000) throw new Error('--extra-processes: an integer 0..2000');
  if (!Number.isInteger(segments) || segments < 1 || segments > 20) throw new Error('--segments: an integer 1..20');
  const agentKind = (args.rest.agent as string | undefined) ?? 'cli';
  if (agentKind !== 'cli' && agentKind !== 'bundle') throw new Error('--agent: cli or bundle');
  const entry = agentKind === 'bundle' ? AGENT_BUNDLE : CLI;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const nodeArgs = ((args.rest['agent-node-options'] as string | undefined) ?? '').split(/\s+/).filter(Boolean);
  // extra environment for the agent only, e.g. --agent-env "MALLOC_ARENA_MAX=2 NODE_OPTIONS=--v8-pool-size=1"
  const agentEnv = Object.fromEntries(((args.rest['agent-env'] as string | undefined) ?? '').split(/\s+(?=[A-Z_]+=)/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const shownEnv = { ...(args.rest['no-unit-env'] ? {} : agentUnitEnvironment()), ...agentEnv };
  const envNote = Object.entries(shownEnv).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') || 'none';
  const durationMs = args.durationMs ?? 60_000;
  if (durationMs < 5_000 || durationMs > 30 * 60_000) throw new Error('--duration: between 5s and 30m');
  const monitCheck = (args.rest['monit-check'] as string | undefined) ?? 'process';
  if (monitCheck !== 'process' && monitCheck !== 'host') throw new Error('--monit-check: process or host');
  const monit = args.noMonit ? null : findMonit();
  if (!monit) console.log(args.noMonit ? 'monit baseline disabled (--no-monit)' : MONIT_SKIP_MESSAGE);

  const services = createBenchServices('footprint');
  const windows: Window[] = [];
  let fleet: (AgentService & { unit: string })[] = [];
  let idle: ChildProcess | null = null;
  try {
    fleet = await startEmulatorFleet(services, KINDS, 'fp');

    // a real GPU host runs hundreds of processes; monit reads them all every cycle
    if (extraProcesses > 0) {
      const lifetimeS = Math.ceil((durationMs * 2 + segments * 60_000) / 1000) + 120;
      idle = spawnGroup('bash', ['-c', `for i in $(seq ${extraProcesses}); do sleep ${lifetimeS} & done; wait`], { stdio: 'ignore' });
      await sleep(2_000);
    }
    // alternate ours / monit in `segments` windows each, so load from outside hits both alike
    const segmentMs = Math.round(durationMs / segments);
    for (let seg = 0; seg < segments; seg++) {
      const agent = spawnAgent(services.dir, `agent-footprint-${seg}`, agentYaml(fleet, services.systemctl), services.env, { entry, nodeArgs, extraEnv: agentEnv, unitEnvironment: !args.rest['no-unit-env'] });
      try {
        const healthy = new Set<string>();
        const ok = await agent.waitEvent((e) => {
          if (e.type === 'state_changed' && e.to === 'healthy' && e.service) healthy.add(e.service);
          return healthy.size === fleet.length;
        }, 30_000);
        if (!ok) throw new Error(`agent did not see all ${fleet.length} services healthy: ${[...healthy].join(', ')} | ${agent.tail.join(' | ')}`);
        await sleep(WARMUP_MS);
        windows.push(await measure('ours', agent.pid, segmentMs, services, fleet));
        const bad = agent.events.filter((e) => e.type === 'restart_started');
        if (bad.length) console.log(`warning: the agent restarted ${bad.length} unit(s) during the footprint run`);
      } finally {
        await agent.stop();
      }
      if (!monit) continue;
      const mon = startMonit({
        monit, dir: services.dir, systemctl: services.systemctl, serviceDir: services.dir,
        checks: fleet.map((s) => ({ name: s.name, port: s.port, path: alivePath(s.kind), unit: s.unit, process: monitCheck === 'process' })),
      });
      try {
        await sleep(WARMUP_MS);
        windows.push(await measure('monit', mon.pid, segmentMs, services, fleet));
        const failures = mon.log().split('\n').filter((l) => /failed|restart/i.test(l));
        if (failures.length) console.log(`warning: monit logged ${failures.length} failure/restart line(s): ${failures.slice(0, 3).join(' | ')}`);
      } finally {
        await mon.stop();
      }
      const last = windows.slice(-2);
      console.log(`segment ${seg + 1}/${segments}: ${last.map((w) => `${w.tool} CPU ${fmt(w.cpuPercent, 2)} %, RSS max ${fmt(w.rssMaxMb, 1)} MB`).join('; ')}`);
    }
  } finally {
    if (idle) await stopGroup(idle, 2_000);
    await services.cleanup();
  }

  const ours = combine(windows.filter((w) => w.tool === 'ours'))!;
  const base = combine(windows.filter((w) => w.tool === 'monit'));
  const row = (label: string, o: number, b: number | undefined, digits: number, unit: string) => [label, fmt(o, digits, unit), fmt(b, digits, unit), fmtRatio(ratio(o, b))];
  printTable(
    `footprint: 8 services (${KINDS.join(', ')}), 1 s interval, ${durationMs / 1000} s per tool in ${segments} alternating window(s)${extraProcesses ? ` + ${extraProcesses} idle processes` : ''}; ratio = ours / monit (agent: ${agentKind}${nodeArgs.length ? ` ${nodeArgs.join(' ')}` : ''}, environment ${envNote}${args.rest['no-unit-env'] ? '' : ' (the unit\'s)'}; monit: check ${monitCheck})`,
    ['measure', 'ours', 'monit', 'ratio'],
    [
      row('CPU, % of one core (process itself)', ours.cpuPercent, base?.cpuPercent, 2, ' %'),
      row('CPU of reaped children (systemctl stand-in), %', ours.childrenCpuPercent, base?.childrenCpuPercent, 2, ' %'),
      row('CPU, process + children, %', ours.cpuPercent + ours.childrenCpuPercent, base ? base.cpuPercent + base.childrenCpuPercent : undefined, 2, ' %'),
      row('RSS mean (VmRSS)', ours.rssMeanMb, base?.rssMeanMb, 1, ' MB'),
      row('RSS max in window (VmRSS)', ours.rssMaxMb, base?.rssMaxMb, 1, ' MB'),
      row('RSS peak since start (VmHWM)', ours.hwmMb, base?.hwmMb, 1, ' MB'),
      row('the 8 servers\' CPU under the checks, %', ours.serversCpuPercent, base?.serversCpuPercent, 2, ' %'),
      row('HTTP requests per server per second', ours.requestsPerServerSecond ?? NaN, base?.requestsPerServerSecond ?? undefined, 2, ''),
      row('processes on the machine (context)', ours.processesOnMachine, base?.processesOnMachine, 0, ''),
    ],
  );
  const goals = {
    cpuNoMoreThanMonit: base ? ours.cpuPercent <= base.cpuPercent : null,
    rssMeanAtMost64MB: ours.rssMeanMb <= 64,
  };
  console.log(`\ngoal: agent CPU ≤ monit's: ${goals.cpuNoMoreThanMonit == null ? 'not measured (no monit)' : goals.cpuNoMoreThanMonit ? 'MET' : 'MISSED'} (${fmt(ours.cpuPercent, 2)} % vs ${fmt(base?.cpuPercent, 2)} %)`);
  console.log(`goal: agent RSS ≤ 64 MB (mean VmRSS): ${goals.rssMeanAtMost64MB ? 'MET' : 'MISSED'} (${fmt(ours.rssMeanMb, 1)} MB; peak ${fmt(ours.hwmMb, 1)} MB)`);
  const file = writeResult('footprint', {
    benchmark: 'footprint',
    machine: machineInfo({ monit: monit?.version ?? null }),
    config: { kinds: KINDS, durationMs, segments, extraProcesses, warmupMs: WARMUP_MS, agent: { entry: agentKind, nodeArgs, interval: '1s', timeout: '1s', retries: 3, retryDelay: '500ms' }, monit: { daemon: 1, check: monitCheck } },
    figures: {
      oursCpuPercent: ours.cpuPercent, monitCpuPercent: base?.cpuPercent ?? null, cpuRatio: ratio(ours.cpuPercent, base?.cpuPercent),
      oursChildrenCpuPercent: ours.childrenCpuPercent,
      oursRssMaxMb: ours.rssMaxMb, monitRssMaxMb: base?.rssMaxMb ?? null, rssRatio: ratio(ours.rssMaxMb, base?.rssMaxMb),
      oursHwmMb: ours.hwmMb, monitHwmMb: base?.hwmMb ?? null,
    },
    goals,
    windows,
  });
  console.log(`\nresult: ${file}`);
}

async function measure(tool: 'ours' | 'monit', pid: number, durationMs: number, services: BenchServices, fleet: { unit: string; port: number }[]): Promise<Window> {
  const requestsNow = async () => {
    const counts = await Promise.all(fleet.map((s) => emulatorRequests(s.port)));
    return counts.every((c) => c !== null) ? (counts as number[]).reduce((a, b) => a + b, 0) : null;
  };
  const r0 = await requestsNow();
  const serverPids = fleet.map((s) => services.mainPid(s.unit));
  const serversCpu = () => serverPids.reduce((sum, p) => sum + (procTimes(p)?.self ?? 0), 0);
  const t0 = procTimes(pid);
  const own0 = threadCpuMs(pid);
  if (!t0 || own0 === null) throw new Error(`${tool}: process ${pid} is gone`);
  const s0 = serversCpu();
  const w0 = performance.now();
  const rss: number[] = [];
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    await sleep(Math.min(1_000, Math.max(0, end - Date.now())));
    const m = procMemory(pid);
    if (!m) throw new Error(`${tool}: process ${pid} exited during the measurement`);
    rss.push(m.rssKb / 1024);
  }
  const t1 = procTimes(pid)!;
  const own1 = threadCpuMs(pid)!;
  const wallMs = performance.now() - w0;
  const mem = procMemory(pid)!;
  const r1 = await requestsNow();
  const requestsPerSecond = r0 !== null && r1 !== null ? (r1 - r0) / (wallMs / 1000) : null;
  const pct = (ticks: number) => ((ticks * (1000 / CLK_TCK)) / wallMs) * 100;
  return {
    tool, pid, wallMs,
    // schedstat's nanoseconds: 10 ms ticks over a 20 s window at ~1 % of a core are ±5 %
    cpuPercent: ((own1 - own0) / wallMs) * 100,
    childrenCpuPercent: pct(t1.children - t0.children),
    rssMeanMb: mean(rss), rssMaxMb: max(rss), hwmMb: mem.hwmKb / 1024,
    serversCpuPercent: pct(serversCpu() - s0),
    requestsPerSecond,
    requestsPerServerSecond: requestsPerSecond === null ? null : requestsPerSecond / fleet.length,
    rssSamplesMb: rss.map((v) => Math.round(v * 10) / 10),
    processesOnMachine: countProcesses(),
  };
}

/** The segments of one tool as one window: CPU and request rates over the summed wall time, RSS over all samples. */
function combine(ws: Window[]): Window | undefined {
  if (!ws.length) return undefined;
  const wall = ws.reduce((a, w) => a + w.wallMs, 0);
  const weighted = (f: (w: Window) => number) => ws.reduce((a, w) => a + f(w) * w.wallMs, 0) / wall;
  const samples = ws.flatMap((w) => w.rssSamplesMb);
  const reqs = ws.every((w) => w.requestsPerSecond !== null) ? weighted((w) => w.requestsPerSecond!) : null;
  return {
    tool: ws[0]!.tool,
    pid: ws[0]!.pid,
    wallMs: wall,
    cpuPercent: weighted((w) => w.cpuPercent),
    childrenCpuPercent: weighted((w) => w.childrenCpuPercent),
    rssMeanMb: mean(samples),
    rssMaxMb: max(samples),
    hwmMb: max(ws.map((w) => w.hwmMb)),
    serversCpuPercent: weighted((w) => w.serversCpuPercent),
    requestsPerSecond: reqs,
    requestsPerServerSecond: reqs === null ? null : reqs / KINDS.length,
    rssSamplesMb: samples,
    processesOnMachine: mean(ws.map((w) => w.processesOnMachine)),
  };
}

function countProcesses(): number {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return NaN;
  }
}

runBench('footprint', main);
