/**
 * Whole-process CPU per probe, measured from outside: the real agent process (as its unit
 * runs it) watching 8 emulated servers at a 1 s interval, against a bash loop forking curl
 * once per server per second (the seed script's way, at the same pace), and against the
 * least a Node.js process can do at that pace (bench/lib/bare-client.ts: one keep-alive GET
 * per server per second and nothing else). Each tool's CPU over a window (every thread of
 * the Node.js processes, from schedstat; bash and its reaped children), divided by the HTTP
 * requests the servers received in that window.
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentYaml, MIXED_FLEET, spawnAgent, startEmulatorFleet, type AgentService } from './agent.js';
import { CLK_TCK, procTimes, spawnGroup, stopGroup, threadCpuMs } from './proc.js';
import { alivePath, createBenchServices, emulatorRequests } from './services.js';
import { agentUnitEnvironment } from './unit-env.js';

const WARMUP_MS = 5_000;

const BARE_CLIENT = fileURLToPath(new URL('./bare-client.js', import.meta.url));

export const WHOLE_PROCESS_TOOLS = ['agent', 'bare node client', 'bash+curl'] as const;
export type WholeProcessTool = (typeof WHOLE_PROCESS_TOOLS)[number];

export interface WholeProcessWindow {
  tool: WholeProcessTool;
  cpuMs: number;
  requests: number;
  wallMs: number;
  cpuMsPerRequest: number;
}

async function requestsNow(fleet: AgentService[]): Promise<number> {
  const counts = await Promise.all(fleet.map((s) => emulatorRequests(s.port)));
  return counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

async function window(tool: WholeProcessTool, cpu: () => number | null, ms: number, fleet: AgentService[]): Promise<WholeProcessWindow> {
  const read = () => {
    const v = cpu();
    if (v === null) throw new Error(`${tool}: its process is gone`);
    return v;
  };
  const r0 = await requestsNow(fleet);
  const c0 = read();
  const w0 = performance.now();
  await sleep(ms);
  const cpuMs = read() - c0;
  const wallMs = performance.now() - w0;
  // the window's own reads of the request counters are control requests, not counted
  const requests = (await requestsNow(fleet)) - r0;
  return { tool, cpuMs, requests, wallMs, cpuMsPerRequest: requests > 0 ? cpuMs / requests : Number.NaN };
}

/** bash's own CPU and that of the curls it forked and reaped, in ms (10 ms ticks: fine at ~10 ms a curl) */
function withChildrenMs(pid: number): number | null {
  const t = procTimes(pid);
  return t ? (t.self + t.children) * (1000 / CLK_TCK) : null;
}

/** Alternating windows of each tool, `segments` each, `segmentMs` long. */
export async function measureWholeProcess(segments: number, segmentMs: number): Promise<WholeProcessWindow[]> {
  const services = createBenchServices('probe-cost');
  const windows: WholeProcessWindow[] = [];
  try {
    const fleet = await startEmulatorFleet(services, MIXED_FLEET, 'pc');
    const urls = fleet.map((s) => `http://127.0.0.1:${s.port}${alivePath(s.kind)}`);
    for (let seg = 0; seg < segments; seg++) {
      const agent = spawnAgent(services.dir, `agent-probe-cost-${seg}`, agentYaml(fleet, services.systemctl), services.env);
      try {
        await sleep(WARMUP_MS);
        windows.push(await window('agent', () => threadCpuMs(agent.pid), segmentMs, fleet));
      } finally {
        await agent.stop();
      }
      const bare = spawnGroup(process.execPath, [BARE_CLIENT, ...urls], { env: { ...services.env, ...agentUnitEnvironment() }, stdio: ['ignore', 'ignore', 'inherit'] });
      try {
        await sleep(WARMUP_MS);
        windows.push(await window('bare node client', () => threadCpuMs(bare.pid!), segmentMs, fleet));
      } finally {
        await stopGroup(bare, 2_000);
      }
      const loop = spawnGroup('bash', ['-c', `while :; do for u in ${urls.join(' ')}; do curl -sf --max-time 10 "$u" > /dev/null; done; sleep 1; done`], { stdio: 'ignore' });
      try {
        await sleep(WARMUP_MS);
        windows.push(await window('bash+curl', () => withChildrenMs(loop.pid!), segmentMs, fleet));
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
export function perRequest(windows: WholeProcessWindow[], tool: WholeProcessTool): number {
  const mine = windows.filter((w) => w.tool === tool);
  const requests = mine.reduce((n, w) => n + w.requests, 0);
  return requests > 0 ? mine.reduce((n, w) => n + w.cpuMs, 0) / requests : Number.NaN;
}
