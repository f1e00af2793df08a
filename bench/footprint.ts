/**
 * Footprint: our agent process watching 8 emulated servers of mixed kinds (interval 1 s,
 * timeout 1 s, each a stand-in unit it could restart) for 60 s, against monit doing 8 http
 * checks on a 1 s cycle over the same servers (same run, one after the other, never both at
 * once). CPU is utime+stime from /proc/PID/stat over the window, as % of one core; memory
 * is VmRSS sampled every second and VmHWM (peak) from /proc/PID/status.
 *
 * Children: the agent runs `systemctl show` now and then; here that is the stand-in, a
 * whole node process per call, so children CPU is reported apart from the agent's own
 * (real systemctl costs a few ms per call).
 *
 * npm run bench -- footprint [--duration 60s] [--monit-check process|host] [--no-monit]
 *   [--agent cli|bundle] [--agent-node-options "--max-semi-space-size=1 ..."]   (to explore)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { AGENT_BUNDLE, agentYaml, spawnAgent, type AgentService } from './lib/agent.js';
import { CLI } from './lib/services.js';
import { findMonit, MONIT_SKIP_MESSAGE, startMonit } from './lib/monit.js';
import { CLK_TCK, procMemory, procTimes } from './lib/proc.js';
import { benchArgs, fmt, fmtRatio, machineInfo, max, mean, printTable, ratio, runBench, writeResult } from './lib/report.js';
import { alivePath, createBenchServices, freePort, waitHealthy, type BenchServices, type Kind } from './lib/services.js';

const KINDS: Kind[] = ['llamacpp', 'llamacpp', 'vllm', 'vllm', 'tgi', 'ollama', 'sglang', 'openai'];
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
  rssSamplesMb: number[];
}

async function main(): Promise<void> {
  const args = benchArgs(undefined, { 'monit-check': { type: 'string' }, agent: { type: 'string' }, 'agent-node-options': { type: 'string' } });
  const agentKind = (args.rest.agent as string | undefined) ?? 'cli';
  if (agentKind !== 'cli' && agentKind !== 'bundle') throw new Error('--agent: cli or bundle');
  const entry = agentKind === 'bundle' ? AGENT_BUNDLE : CLI;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const nodeArgs = ((args.rest['agent-node-options'] as string | undefined) ?? '').split(/\s+/).filter(Boolean);
  const durationMs = args.durationMs ?? 60_000;
  if (durationMs < 5_000 || durationMs > 30 * 60_000) throw new Error('--duration: between 5s and 30m');
  const monitCheck = (args.rest['monit-check'] as string | undefined) ?? 'process';
  if (monitCheck !== 'process' && monitCheck !== 'host') throw new Error('--monit-check: process or host');
  const monit = args.noMonit ? null : findMonit();
  if (!monit) console.log(args.noMonit ? 'monit baseline disabled (--no-monit)' : MONIT_SKIP_MESSAGE);

  const services = createBenchServices('footprint');
  const windows: Window[] = [];
  const fleet: (AgentService & { unit: string })[] = [];
  try {
    for (const [i, kind] of KINDS.entries()) {
      const port = await freePort();
      const unit = `fp-${i}-${kind}.service`;
      services.emulatorUnit(unit, kind, port);
      fleet.push({ name: `${kind}-${i}`, kind, port, unit });
    }
    await Promise.all(fleet.map((s) => services.ctl('start', s.unit)));
    for (const s of fleet) if (!(await waitHealthy(s.port, alivePath(s.kind)))) throw new Error(`${s.unit} did not come up`);

    // ours
    const agent = spawnAgent(services.dir, 'agent-footprint', agentYaml(fleet, services.systemctl), services.env, { entry, nodeArgs });
    try {
      const healthy = new Set<string>();
      const ok = await agent.waitEvent((e) => {
        if (e.type === 'state_changed' && e.to === 'healthy' && e.service) healthy.add(e.service);
        return healthy.size === fleet.length;
      }, 30_000);
      if (!ok) throw new Error(`agent did not see all ${fleet.length} services healthy: ${[...healthy].join(', ')} | ${agent.tail.join(' | ')}`);
      await sleep(WARMUP_MS);
      windows.push(await measure('ours', agent.pid, durationMs, services, fleet));
      const bad = agent.events.filter((e) => e.type === 'restart_started');
      if (bad.length) console.log(`warning: the agent restarted ${bad.length} unit(s) during the footprint run`);
    } finally {
      await agent.stop();
    }

    // monit
    if (monit) {
      const mon = startMonit({
        monit, dir: services.dir, systemctl: services.systemctl, serviceDir: services.dir,
        checks: fleet.map((s) => ({ name: s.name, port: s.port, path: alivePath(s.kind), unit: s.unit, process: monitCheck === 'process' })),
      });
      try {
        await sleep(WARMUP_MS);
        windows.push(await measure('monit', mon.pid, durationMs, services, fleet));
        const failures = mon.log().split('\n').filter((l) => /failed|restart/i.test(l));
        if (failures.length) console.log(`warning: monit logged ${failures.length} failure/restart line(s): ${failures.slice(0, 3).join(' | ')}`);
      } finally {
        await mon.stop();
      }
    }
  } finally {
    await services.cleanup();
  }

  const ours = windows.find((w) => w.tool === 'ours')!;
  const base = windows.find((w) => w.tool === 'monit');
  const row = (label: string, o: number, b: number | undefined, digits: number, unit: string) => [label, fmt(o, digits, unit), fmt(b, digits, unit), fmtRatio(ratio(o, b))];
  printTable(
    `footprint: 8 services (${KINDS.join(', ')}), 1 s interval, ${durationMs / 1000} s window; ratio = ours / monit (agent: ${agentKind}${nodeArgs.length ? ` ${nodeArgs.join(' ')}` : ''}; monit: check ${monitCheck})`,
    ['measure', 'ours', 'monit', 'ratio'],
    [
      row('CPU, % of one core (process itself)', ours.cpuPercent, base?.cpuPercent, 2, ' %'),
      row('CPU of reaped children (systemctl stand-in), %', ours.childrenCpuPercent, base?.childrenCpuPercent, 2, ' %'),
      row('CPU, process + children, %', ours.cpuPercent + ours.childrenCpuPercent, base ? base.cpuPercent + base.childrenCpuPercent : undefined, 2, ' %'),
      row('RSS mean (VmRSS)', ours.rssMeanMb, base?.rssMeanMb, 1, ' MB'),
      row('RSS max in window (VmRSS)', ours.rssMaxMb, base?.rssMaxMb, 1, ' MB'),
      row('RSS peak since start (VmHWM)', ours.hwmMb, base?.hwmMb, 1, ' MB'),
      row('the 8 servers\' CPU under the checks, %', ours.serversCpuPercent, base?.serversCpuPercent, 2, ' %'),
    ],
  );
  const goals = {
    cpuNoMoreThanMonit: base ? ours.cpuPercent <= base.cpuPercent : null,
    rssAtMost60MB: ours.hwmMb <= 60,
  };
  console.log(`\ngoal: agent CPU ≤ monit's: ${goals.cpuNoMoreThanMonit == null ? 'not measured (no monit)' : goals.cpuNoMoreThanMonit ? 'MET' : 'MISSED'} (${fmt(ours.cpuPercent, 2)} % vs ${fmt(base?.cpuPercent, 2)} %)`);
  console.log(`goal: agent RSS ≤ 60 MB (peak VmHWM): ${goals.rssAtMost60MB ? 'MET' : 'MISSED'} (${fmt(ours.hwmMb, 1)} MB)`);
  const file = writeResult('footprint', {
    benchmark: 'footprint',
    machine: machineInfo({ monit: monit?.version ?? null }),
    config: { kinds: KINDS, durationMs, warmupMs: WARMUP_MS, agent: { entry: agentKind, nodeArgs, interval: '1s', timeout: '1s', retries: 3, retryDelay: '500ms' }, monit: { daemon: 1, check: monitCheck } },
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

async function measure(tool: 'ours' | 'monit', pid: number, durationMs: number, services: BenchServices, fleet: { unit: string }[]): Promise<Window> {
  const serverPids = fleet.map((s) => services.mainPid(s.unit));
  const serversCpu = () => serverPids.reduce((sum, p) => sum + (procTimes(p)?.self ?? 0), 0);
  const t0 = procTimes(pid);
  if (!t0) throw new Error(`${tool}: process ${pid} is gone`);
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
  const wallMs = performance.now() - w0;
  const mem = procMemory(pid)!;
  const pct = (ticks: number) => ((ticks * (1000 / CLK_TCK)) / wallMs) * 100;
  return {
    tool, pid, wallMs,
    cpuPercent: pct(t1.self - t0.self),
    childrenCpuPercent: pct(t1.children - t0.children),
    rssMeanMb: mean(rss), rssMaxMb: max(rss), hwmMb: mem.hwmKb / 1024,
    serversCpuPercent: pct(serversCpu() - s0),
    rssSamplesMb: rss.map((v) => Math.round(v * 10) / 10),
  };
}

runBench('footprint', main);
