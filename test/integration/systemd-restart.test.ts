/**
 * The real agent against a real systemd (test/helpers/systemd.ts): emulated LLM servers run as
 * real units, the agent restarts them through that manager's systemctl, and every outcome is
 * read back from `systemctl show`, not from the agent's own account. One manager and one
 * agent for the whole file; each test has its own unit and port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentYaml, CLI, freePort, spawnAgentProcess, waitFor, type AgentProcess, type LoggedEvent } from '../helpers/agent-harness.js';
import { signalPid, type CommandResult } from '../helpers/service-manager.js';
import { systemdForTests } from '../helpers/systemd.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';
import { createUnitControl } from '../../agent/wiring.js';
import { setTimeout as sleep } from 'node:timers/promises';

const { sandbox: sd, skip } = await systemdForTests();

const UNITS = { kill: 'llmh-e2e-kill.service', hang: 'llmh-e2e-hang.service', loop: 'llmh-e2e-loop.service', foreign: 'llmh-e2e-foreign.service' };
const SERVICES = { kill: 'killed', hang: 'hung', loop: 'looping' } as const;
const ports: Record<keyof typeof UNITS, number> = { kill: 0, hang: 0, loop: 0, foreign: 0 };
const PROPS = ['ActiveState', 'SubState', 'Result', 'NRestarts', 'MainPID', 'ExecMainStartTimestampMonotonic'];
let agent: AgentProcess;
/** the crash-loop test's own agent: one that saw the unit inactive at start would start it */
let loopAgent: AgentProcess | undefined;
let configYaml: string;

/** An emulator unit; `extra` adds [Unit]/[Service] lines (crash loop, start limit). */
function emulatorUnit(port: number, args: string[] = [], extra: { unit?: string[]; service?: string[] } = {}): string {
  return [
    '[Unit]',
    'Description=emulated llama.cpp server (llm-health e2e test)',
    ...(extra.unit ?? []),
    '[Service]',
    'Type=exec',
    `ExecStart=${process.execPath} ${CLI} emulate --kind llamacpp --port ${port}${args.length ? ` ${args.join(' ')}` : ''}`,
    'TimeoutStopSec=3s',
    ...(extra.service ?? []),
    '',
  ].join('\n');
}

const svc = (name: string, unit: string, port: number) => `  - name: ${name}\n    kind: llamacpp\n    url: http://127.0.0.1:${port}\n    unit: ${unit}\n`;
const isState = (service: string, to: string) => (e: LoggedEvent) => e.type === 'state_changed' && e.service === service && e.to === to;
const after_ = (seq: number, pred: (e: LoggedEvent) => boolean) => (e: LoggedEvent) => e.seq > seq && pred(e);
const restartsOf = (service: string, of = agent) => of.events.filter((e) => e.type === 'restart_started' && e.service === service);
/** the systemctl of the test's manager, by absolute path as an operator would configure it */
const restartYaml = () => `restart: { systemctl: [${JSON.stringify(sd!.systemctlPath)}], maxRestarts: 5, window: 10m, backoff: 500ms, timeout: 20s }\n`;
function writeConfig(name: string, yaml: string): string {
  const file = join(sd!.dir, name);
  writeFileSync(file, yaml);
  return file;
}

before(async () => {
  if (!sd) return;
  for (const k of Object.keys(ports) as (keyof typeof UNITS)[]) ports[k] = await freePort();
  sd.writeUnit(UNITS.kill, emulatorUnit(ports.kill));
  sd.writeUnit(UNITS.hang, emulatorUnit(ports.hang));
  sd.writeUnit(UNITS.foreign, emulatorUnit(ports.foreign));
  // crashes 1.5 s after every start; systemd restarts it twice, then its start limit stops it
  sd.writeUnit(
    UNITS.loop,
    emulatorUnit(ports.loop, ['--crash-after', '1500ms'], { unit: ['StartLimitIntervalSec=2min', 'StartLimitBurst=3'], service: ['Restart=on-failure', 'RestartSec=300ms'] }),
  );
  assert.equal((await sd.systemctl('daemon-reload')).code, 0);
  for (const u of [UNITS.kill, UNITS.hang, UNITS.foreign]) {
    const r: CommandResult = await sd.systemctl('start', u);
    assert.equal(r.code, 0, `start ${u}: ${r.stderr}`);
  }
  configYaml = agentYaml(svc(SERVICES.kill, UNITS.kill, ports.kill) + svc(SERVICES.hang, UNITS.hang, ports.hang), restartYaml());
  agent = spawnAgentProcess(writeConfig('agent.yaml', configYaml), sd.env);
  await agent.waitEvent(isState(SERVICES.kill, 'healthy'), 20_000, 'killed: healthy');
  await agent.waitEvent(isState(SERVICES.hang, 'healthy'), 20_000, 'hung: healthy');
});

after(async () => {
  await agent?.stop();
  await loopAgent?.stop();
  await sd?.stop();
});

test('a SIGKILLed main process: systemd records the kill, the agent restarts the unit', { skip }, async () => {
  const before = await sd!.show(UNITS.kill, PROPS);
  assert.equal(before.ActiveState, 'active');
  const seq = agent.events.at(-1)?.seq ?? 0;
  signalPid(Number(before.MainPID), 'SIGKILL');
  const started = await agent.waitEvent(after_(seq, (e) => e.type === 'restart_started' && e.service === SERVICES.kill), 10_000, 'restart_started');
  // the evidence is systemd's own view of the crash, read before the restart
  const evidence = (started.data as { evidence: { properties: { activeState: string; result: string } } }).evidence.properties;
  assert.equal(evidence.activeState, 'failed');
  assert.equal(evidence.result, 'signal');
  await agent.waitEvent(after_(started.seq, isState(SERVICES.kill, 'healthy')), 15_000, 'healthy again');
  const now = await sd!.show(UNITS.kill, PROPS);
  assert.equal(now.ActiveState, 'active');
  assert.equal(now.Result, 'success');
  assert.notEqual(now.MainPID, before.MainPID);
  // NRestarts counts systemd's automatic restarts only: this one was the agent's
  assert.equal(now.NRestarts, '0');
  assert.equal(restartsOf(SERVICES.kill).length, 1);
  assert.match(sd!.managerLog(), new RegExp(`${UNITS.kill.replace('.', '\\.')}: Main process exited, code=killed, status=9/KILL`));
});

test('a SIGSTOPped (hung) main process: the agent restarts it after its retries', { skip }, async () => {
  const before = await sd!.show(UNITS.hang, PROPS);
  const seq = agent.events.at(-1)?.seq ?? 0;
  signalPid(Number(before.MainPID), 'SIGSTOP');
  try {
    const started = await agent.waitEvent(after_(seq, (e) => e.type === 'restart_started' && e.service === SERVICES.hang), 20_000, 'restart_started');
    assert.match(started.reason, /no answer within 1000ms \(3 attempts\)/);
    // systemd still saw a running process: only the probes could tell it was hung
    const evidence = (started.data as { evidence: { properties: { activeState: string; subState: string } } }).evidence.properties;
    assert.equal(`${evidence.activeState}/${evidence.subState}`, 'active/running');
    await agent.waitEvent(after_(started.seq, isState(SERVICES.hang, 'healthy')), 20_000, 'healthy again');
  } finally {
    try {
      signalPid(Number(before.MainPID), 'SIGCONT');
    } catch {
      /* gone: restarted */
    }
  }
  const now = await sd!.show(UNITS.hang, PROPS);
  assert.equal(now.ActiveState, 'active');
  assert.notEqual(now.MainPID, before.MainPID);
  assert.equal(restartsOf(SERVICES.hang).length, 1);
});

test('a crash loop ends at the start limit; the agent reports start_limit_hit and stops hammering', { skip }, async () => {
  assert.equal((await sd!.systemctl('start', UNITS.loop)).code, 0);
  const a = (loopAgent = spawnAgentProcess(writeConfig('loop.yaml', agentYaml(svc(SERVICES.loop, UNITS.loop, ports.loop), restartYaml())), sd!.env));
  // systemd restarts it until its start limit; the agent's restart after that is refused too
  const failed = await a.waitEvent(
    ((e) => e.type === 'restart_failed' && e.service === SERVICES.loop && (e.data as { outcome?: string }).outcome === 'start_limit_hit'),
    30_000,
    'restart_failed: start_limit_hit',
  );
  assert.match(failed.reason, /start limit hit/);
  const now = await sd!.show(UNITS.loop, PROPS);
  assert.equal(now.ActiveState, 'failed');
  // systemd keeps the first failure until reset-failed: the limit shows in its log, not in Result
  assert.equal(now.Result, 'exit-code');
  // StartLimitBurst=3: three starts got through (ours, then systemd's or the agent's
  // restarts), the fourth was refused. NRestarts counts systemd's own (Restart=on-failure).
  const agentRestarts = restartsOf(SERVICES.loop, a).length;
  assert.ok(Number(now.NRestarts) >= 1, `systemd restarted it itself (NRestarts=${now.NRestarts})`);
  assert.ok(Number(now.NRestarts) + agentRestarts >= 3, `NRestarts=${now.NRestarts}, agent restarts ${agentRestarts}`);
  assert.match(sd!.managerLog(), new RegExp(`${UNITS.loop.replace('.', '\\.')}: Start request repeated too quickly`));
  // bounded by maxRestarts (5) within the window: the agent does not spin on a refused unit
  await sleep(3_000);
  assert.ok(restartsOf(SERVICES.loop, a).length <= 5, `${restartsOf(SERVICES.loop, a).length} restarts`);
  assert.equal((await sd!.show(UNITS.loop, ['ActiveState'])).ActiveState, 'failed');
});

test('a unit outside the config is never touched, even when it crashes', { skip }, async () => {
  const before = await sd!.show(UNITS.foreign, PROPS);
  signalPid(Number(before.MainPID), 'SIGKILL');
  await waitFor(async () => (await sd!.show(UNITS.foreign, ['ActiveState'])).ActiveState === 'failed', 5_000, 'foreign unit failed');
  // the agent's own systemctl wrapper, with this config's allow-list, refuses it outright
  const units = createUnitControl(parseAgentConfig(join(sd!.dir, 'agent.yaml'), configYaml));
  await assert.rejects(units.restart(UNITS.foreign), /refusing unit "llmh-e2e-foreign\.service": not one of this agent's configured units/);
  // and the running agent left it alone: still failed, never started again
  await sleep(3_000);
  const now = await sd!.show(UNITS.foreign, PROPS);
  assert.equal(now.ActiveState, 'failed');
  assert.equal(now.ExecMainStartTimestampMonotonic, before.ExecMainStartTimestampMonotonic);
  assert.ok(!agent.lines.some((l) => l.includes(UNITS.foreign)), 'the agent never mentioned the foreign unit');
});
