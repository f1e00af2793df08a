/**
 * Coordinator and agent link (docs/protocol.md, docs/http-api.md): a coordinator process, three agent processes and
 * their emulated servers. What it shows: status within 3 s of a change; coordinator SIGKILLed for
 * 30 s loses no event; an agent SIGKILLed with a full spool delivers it exactly once; a
 * network cut does not stop local recovery, and the coordinator sees the agent go offline
 * and come back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createHarness, CLI, freePort, waitFor, type Harness, type AgentProcess, type LoggedEvent } from '../helpers/agent-harness.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const TOKEN = 'agent-token-for-tests-0123456789';
let h: Harness;
let coordPort: number;
let coordinator: ChildProcess | null = null;
/** the coordinator's log lines (all of its boots), shown when a wait fails */
const coordinatorLines: string[] = [];
let coordFile: string;
let proxy: TcpProxy;
/** per host: its config, its servers' ports, and each boot of its agent process (the last is running) */
const agents: Record<string, { yaml: string; ports: Record<string, number>; boots: AgentProcess[] }> = {};
const current = (id: string): AgentProcess => agents[id]!.boots.at(-1)!;
/** every event the host's agent logged, all boots */
const emittedBy = (id: string): LoggedEvent[] => agents[id]!.boots.flatMap((b) => b.events);

function startCoordinator(): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'coordinator', '-c', coordFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLM_HEALTH_LOG_LEVEL: 'info' } });
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => coordinatorLines.push(line));
  return child;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${coordPort}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

interface FleetView {
  hosts: { id: string; connected: boolean; services: { name: string; state: string; reason: string }[] }[];
}

function statusJson(): Promise<FleetView> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'status', '--json', '--url', `http://127.0.0.1:${coordPort}`], { encoding: 'utf8', timeout: 10_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as FleetView);
    });
  });
}

async function stored(host: string): Promise<{ bootId: string; seq: number; type: string }[]> {
  const { events } = await api<{ events: { bootId: string; seq: number; type: string }[] }>(`/api/v1/events?host=${host}&limit=10000&since=0`);
  return events;
}

function agentYamlFor(id: string, wsPort: number, ports: Record<string, number>, spoolDir: string): string {
  return `agent: { id: ${id}, labels: { rack: r1 } }
coordinator: { url: 'ws://127.0.0.1:${wsPort}/agent', token: '${TOKEN}', spoolDir: '${spoolDir}', heartbeat: 1s, reconnectMax: 2s }
defaults: { interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms, startupGrace: 10s }
gpu: { enabled: false }
restart: { maxRestarts: 20, window: 10m, backoff: 200ms }
services:
  - { name: llama-vision, kind: llamacpp, url: 'http://127.0.0.1:${ports.llama}', unit: ${id}-llama.service }
  - { name: qwen-vl, kind: vllm, url: 'http://127.0.0.1:${ports.qwen}', unit: ${id}-qwen.service, model: Qwen/Qwen2.5-VL-7B-Instruct }
`;
}

/** What a failed delivery wait shows: the missing events, the agent's and the coordinator's last words. */
async function deliveryReport(id: string, emitted: LoggedEvent[]): Promise<string> {
  const got = new Set((await stored(id).catch(() => [])).map((e) => `${e.bootId}:${e.seq}`));
  const missing = emitted.filter((e) => !got.has(`${e.bootId}:${e.seq}`)).map((e) => `${e.bootId}:${e.seq} ${e.service ?? '-'} ${e.type} ${e.reason}`);
  const tail = (lines: string[]) => lines.slice(-40).join('\n');
  return [
    `missing ${missing.length} of ${emitted.length}:\n${missing.slice(0, 40).join('\n')}`,
    ...agents[id]!.boots.map((boot, i) => `--- ${id} agent boot ${i + 1} (last 40 lines) ---\n${tail(boot.lines)}`),
    `--- coordinator (last 40 lines) ---\n${tail(coordinatorLines)}`,
  ].join('\n');
}

function startAgent(id: string): void {
  agents[id]!.boots.push(h.spawnAgent(agents[id]!.yaml));
}

before(async () => {
  h = createHarness();
  coordPort = await freePort();
  mkdirSync(join(h.dir, 'coord'), { recursive: true });
  coordFile = join(h.dir, 'coord', 'coordinator.yaml');
  writeFileSync(coordFile, `listen: 127.0.0.1:${coordPort}\ndataDir: ./data\nauth:\n  agentTokens: ['${TOKEN}']\nfleet: { agentLostAfter: 3s, heartbeatInterval: 1s }\n`);
  coordinator = startCoordinator();
  await waitFor(async () => (await fetch(`http://127.0.0.1:${coordPort}/healthz`).catch(() => null))?.ok, 10_000, 'coordinator up');
  proxy = await startTcpProxy(coordPort);
  for (const id of ['gpu-a', 'gpu-b', 'gpu-c']) {
    const ports = { llama: await freePort(), qwen: await freePort() };
    h.emulatorUnit(`${id}-llama.service`, { kind: 'llamacpp', port: ports.llama });
    h.emulatorUnit(`${id}-qwen.service`, { kind: 'vllm', port: ports.qwen });
    await h.start(`${id}-llama.service`);
    await h.start(`${id}-qwen.service`);
    const wsPort = id === 'gpu-c' ? proxy.port : coordPort;
    agents[id] = { yaml: agentYamlFor(id, wsPort, ports, join(h.dir, `spool-${id}`)), ports, boots: [] };
  }
  for (const id of Object.keys(agents)) startAgent(id);
});

after(async () => {
  coordinator?.kill('SIGKILL');
  await proxy?.close();
  await h.cleanup();
});

test('status --json lists every host and service, and shows a change within 3 s', async () => {
  await waitFor(async () => {
    const f = await statusJson();
    return f.hosts.length === 3 && f.hosts.every((x) => x.connected && x.services.length === 2 && x.services.every((s) => s.state === 'healthy'));
  }, 20_000, 'all hosts healthy in status');
  // a hang: the agent sees the first attempt time out after 1 s (unhealthy), then down and
  // restarting; any of those must be in the status table within 3 s of the change
  await h.setMode(agents['gpu-b']!.ports.qwen, 'hang');
  const changedAt = Date.now();
  await waitFor(async () => {
    const f = await statusJson();
    const s = f.hosts.find((x) => x.id === 'gpu-b')!.services.find((x) => x.name === 'qwen-vl')!;
    return ['unhealthy', 'down', 'restarting', 'starting'].includes(s.state);
  }, 3_000, 'qwen-vl no longer healthy in status within 3 s');
  assert.ok(Date.now() - changedAt <= 3_000);
  // the agent restarts the hung server; the fleet is healthy again before the next test
  await waitFor(async () => {
    const f = await statusJson();
    return f.hosts.find((x) => x.id === 'gpu-b')!.services.every((s) => s.state === 'healthy');
  }, 20_000, 'gpu-b healthy again after the restart');
});

test('coordinator SIGKILLed for 30 s while servers fail; an agent SIGKILLed with a full spool: every event stored exactly once, in order', async () => {
  coordinator!.kill('SIGKILL');
  await new Promise((r) => coordinator!.once('exit', r));
  const outageEnds = Date.now() + 30_000;
  // failures and restarts while the coordinator is gone
  const killedAt = Date.now();
  for (const id of ['gpu-a', 'gpu-b']) process.kill(h.sandbox.mainPid(`${id}-llama.service`), 'SIGKILL');
  // this restart, not test 1's restart of gpu-b's qwen-vl
  const restartedNow = (e: LoggedEvent) => e.type === 'restart_succeeded' && e.service === 'llama-vision' && Date.parse(e.at) >= killedAt;
  await current('gpu-a').waitEvent(restartedNow, 15_000, 'gpu-a restart during outage');
  await current('gpu-b').waitEvent(restartedNow, 15_000, 'gpu-b restart during outage');
  // gpu-b's agent dies with those events unacknowledged in its spool, and comes back
  const firstBoot = current('gpu-b');
  await firstBoot.stop('SIGKILL');
  startAgent('gpu-b');
  const qwenKilledAt = Date.now();
  process.kill(h.sandbox.mainPid('gpu-a-qwen.service'), 'SIGKILL');
  await current('gpu-a').waitEvent((e) => e.type === 'restart_succeeded' && e.service === 'qwen-vl' && Date.parse(e.at) >= qwenKilledAt, 15_000, 'gpu-a qwen restart');
  await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
  coordinator = startCoordinator();
  await waitFor(async () => (await fetch(`http://127.0.0.1:${coordPort}/healthz`).catch(() => null))?.ok, 10_000, 'coordinator back');
  for (const id of ['gpu-a', 'gpu-b']) {
    const emitted = emittedBy(id);
    await waitFor(async () => (await stored(id)).length >= emitted.length, 20_000, `${id} events delivered`).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await deliveryReport(id, emitted)}`);
    });
    const got = await stored(id);
    const key = (e: { bootId: string; seq: number }) => `${e.bootId}:${e.seq}`;
    assert.equal(new Set(got.map(key)).size, got.length, `${id}: no duplicate`);
    const gotKeys = new Set(got.map(key));
    assert.deepEqual(emitted.map(key).filter((k) => !gotKeys.has(k)), [], `${id}: every emitted event stored`);
    // nothing else: what was stored is in the agents' logs by now (a live agent logs an event
    // right after spooling it), except at most the one event a SIGKILLed boot spooled and
    // did not live to log
    await new Promise((r) => setTimeout(r, 500));
    const logged = new Set(emittedBy(id).map(key));
    const killedBoots = agents[id]!.boots.filter((b) => b.child.signalCode === 'SIGKILL').map((b) => b.events);
    const spooledNotLogged = new Set(killedBoots.filter((evs) => evs.length).map((evs) => key({ bootId: evs[0]!.bootId, seq: evs[evs.length - 1]!.seq + 1 })));
    assert.deepEqual(got.map(key).filter((k) => !logged.has(k) && !spooledNotLogged.has(k)), [], `${id}: nothing stored that no agent emitted`);
    for (const boot of new Set(got.map((e) => e.bootId))) {
      const seqs = got.filter((e) => e.bootId === boot).map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${id} boot ${boot}: contiguous and in order`);
    }
  }
  assert.equal(agents['gpu-b']!.boots.length, 2, 'gpu-b had two boots');
  assert.ok(agents['gpu-b']!.boots[0]!.events.some((e) => e.type === 'restart_started' && e.service === 'llama-vision' && Date.parse(e.at) >= killedAt), 'the killed boot had restart events to deliver');
});

test('network cut: local recovery goes on, the agent shows offline and comes back, events arrive in order', async () => {
  await waitFor(async () => (await statusJson()).hosts.find((x) => x.id === 'gpu-c')?.connected, 15_000, 'gpu-c connected');
  await proxy.sever();
  const cutAt = Date.now();
  process.kill(h.sandbox.mainPid('gpu-c-llama.service'), 'SIGKILL');
  const restarted = await current('gpu-c').waitEvent((e) => e.type === 'restart_succeeded' && Date.parse(e.at) >= cutAt, 15_000, 'local restart during the cut');
  await waitFor(async () => {
    const host = (await statusJson()).hosts.find((x) => x.id === 'gpu-c')!;
    return !host.connected && host.services.every((s) => s.state === 'unknown');
  }, 6_000, 'gpu-c offline with unknown services');
  assert.ok(Date.now() - cutAt < 3_000 + 4_000, 'offline detected about agentLostAfter after the cut');
  await proxy.heal();
  await waitFor(async () => (await statusJson()).hosts.find((x) => x.id === 'gpu-c')?.connected, 15_000, 'gpu-c back online');
  await waitFor(async () => (await stored('gpu-c')).some((e) => e.seq === restarted.seq && e.bootId === restarted.bootId), 10_000, 'restart event delivered');
  const got = await stored('gpu-c');
  const seqs = got.filter((e) => e.bootId === restarted.bootId).map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'in order, no gap');
});
