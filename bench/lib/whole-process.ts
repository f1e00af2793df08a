/**
 * Whole-process CPU per probe, measured from outside: the real agent process (as its unit
 * runs it) watching 8 emulated servers at a 1 s interval, against a bash loop forking curl
 * once per server per second — the seed script's way, at the same pace. Each tool's CPU over
 * a window (/proc/PID/stat: the agent itself; bash and its reaped children for the loop),
 * divided by the HTTP requests the servers received in that window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { agentYaml, MIXED_FLEET, spawnAgent, startEmulatorFleet, type AgentService } from './agent.js';
import { CLK_TCK, procTimes, spawnGroup, stopGroup } from './proc.js';
import { alivePath, createBenchServices, emulatorRequests } from './services.js';

const WARMUP_MS = 5_000;

export interface WholeProcessWindow {
  tool: 'agent' | 'bash+curl';
  cpuMs: number;
  requests: number;
  wallMs: number;
  cpuMsPerRequest: number;
}

async function requestsNow(fleet: AgentService[]): Promise<number> {
  const counts = await Promise.all(fleet.map((s) => emulatorRequests(s.port)));
  return counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

async function window(tool: WholeProcessWindow['tool'], pid: number, withChildren: boolean, ms: number, fleet: AgentService[]): Promise<WholeProcessWindow> {
  const cpu = () => {
    const t = procTimes(pid);
    if (!t) throw new Error(`${tool}: cannot read /proc/${pid}/stat`);
    return (t.self + (withChildren ? t.children : 0)) * (1000 / CLK_TCK);
  };
  const r0 = await requestsNow(fleet);
  const c0 = cpu();
  const w0 = performance.now();
  await sleep(ms);
  const cpuMs = cpu() - c0;
  const wallMs = performance.now() - w0;
  // the window's own reads of the request counters are control requests, not counted
  const requests = (await requestsNow(fleet)) - r0;
  return { tool, cpuMs, requests, wallMs, cpuMsPerRequest: requests > 0 ? cpuMs / requests : Number.NaN };
}

/** Alternating windows of each tool, `segments` each, `segmentMs` long. */
export async function measureWholeProcess(segments: number, segmentMs: number): Promise<WholeProcessWindow[]> {
  const services = createBenchServices('probe-cost');
  const windows: WholeProcessWindow[] = [];
  try {
    const fleet = await startEmulatorFleet(services, MIXED_FLEET, 'pc');
    const urls = fleet.map((s) => `http://127.0.0.1:${s.port}${alivePath(s.kind)}`).join(' ');
    for (let seg = 0; seg < segments; seg++) {
      const agent = spawnAgent(services.dir, `agent-probe-cost-${seg}`, agentYaml(fleet, services.systemctl), services.env);
      try {
        await sleep(WARMUP_MS);
        windows.push(await window('agent', agent.pid, false, segmentMs, fleet));
      } finally {
        await agent.stop();
      }
      const loop = spawnGroup('bash', ['-c', `while :; do for u in ${urls}; do curl -sf --max-time 10 "$u" > /dev/null; done; sleep 1; done`], { stdio: 'ignore' });
      try {
        await sleep(WARMUP_MS);
        windows.push(await window('bash+curl', loop.pid!, true, segmentMs, fleet));
      } finally {
        await stopGroup(loop, 2_000);
      }
    }
  } finally {
    await services.cleanup();
  }
  return windows;
}

/** CPU per request over all windows of one tool. */
export function perRequest(windows: WholeProcessWindow[], tool: WholeProcessWindow['tool']): number {
  const mine = windows.filter((w) => w.tool === tool);
  const requests = mine.reduce((n, w) => n + w.requests, 0);
  return requests > 0 ? mine.reduce((n, w) => n + w.cpuMs, 0) / requests : Number.NaN;
}
