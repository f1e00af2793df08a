/**
 * The monitor watched by systemd: `llm-health agent` and `llm-health coordinator` as real
 * Type=notify units with WatchdogSec=2s (pings every 1 s) under a real systemd
 * (test/helpers/systemd.ts). A SIGSTOPped daemon misses its pings and systemd restarts it; a
 * healthy one runs 3 x WatchdogSec (6 s) without a restart; the coordinator's dead-man's
 * switch hits a real local HTTP server at its interval and stops with the coordinator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, freePort, waitFor } from '../helpers/agent-harness.js';
import { signalPid } from '../helpers/service-manager.js';
import { systemdForTests } from '../helpers/systemd.js';

const { sandbox: sd, skip } = await systemdForTests();

const WATCHDOG_SEC = 2;
/** systemd's own slack: the kill, RestartSec=100ms, node starting, READY=1 on a busy 2-core box */
const RESTART_MARGIN_MS = 6_000;
const AGENT = 'llmh-wd-agent.service';
const COORD = 'llmh-wd-coordinator.service';
const PING_INTERVAL_MS = 500;
const PROPS = ['ActiveState', 'SubState', 'Result', 'NRestarts', 'MainPID'];
/** long enough for any slow ping, GC pause or store hiccup to show: 60 watchdog periods */
const HEALTHY_RUN_MS = 120_000;

let pings: number[] = [];
let pingServer: Server;

function daemonUnit(args: string[]): string {
  return [
    '[Unit]',
    'Description=llm-health daemon under a watchdog (test)',
    '[Service]',
    'Type=notify',
    'NotifyAccess=all',
    `WatchdogSec=${WATCHDOG_SEC}s`,
    `ExecStart=${process.execPath} ${CLI} ${args.join(' ')}`,
    'Restart=on-failure',
    'RestartSec=100ms',
    'TimeoutStartSec=20s',
    'TimeoutStopSec=5s',
    'Environment=LLM_HEALTH_LOG_LEVEL=info',
    '',
  ].join('\n');
}

before(async () => {
  if (!sd) return;
  pingServer = createServer((req, res) => {
    pings.push(Date.now());
    res.end('OK');
  });
  await new Promise<void>((resolve) => pingServer.listen(0, '127.0.0.1', resolve));
  const pingPort = (pingServer.address() as { port: number }).port;
  const agentFile = join(sd.dir, 'agent.yaml');
  // one service on a port nobody answers: the agent's rounds run (and fail) as in production
  writeFileSync(agentFile, `agent: { id: wd-agent }\ngpu: { enabled: false }\ndefaults: { interval: 1s, timeout: 500ms, retries: 1 }\nservices:\n  - { name: nothing, kind: llamacpp, url: "http://127.0.0.1:${await freePort()}" }\n`);
  const coordFile = join(sd.dir, 'coordinator.yaml');
  writeFileSync(
    coordFile,
    `listen: 127.0.0.1:${await freePort()}\ndataDir: ${join(sd.dir, 'coord-data')}\nauth: { agentTokens: [agent-token-0123456789] }\nwatchdog: { pingUrl: "http://127.0.0.1:${pingPort}/ping/abc", interval: ${PING_INTERVAL_MS}ms, timeout: 2s }\n`,
  );
  sd.writeUnit(AGENT, daemonUnit(['agent', '-c', agentFile]));
  sd.writeUnit(COORD, daemonUnit(['coordinator', '-c', coordFile]));
  assert.equal((await sd.systemctl('daemon-reload')).code, 0);
  // Type=notify: start returns only once the daemon sent READY=1
  const [a, c] = await Promise.all([sd.systemctl('start', AGENT), sd.systemctl('start', COORD)]);
  assert.equal(a.code, 0, `start agent: ${a.stderr}\n${sd.servicesLog().slice(-3000)}`);
  assert.equal(c.code, 0, `start coordinator: ${c.stderr}\n${sd.servicesLog().slice(-3000)}`);
});

after(async () => {
  await sd?.stop();
  pingServer?.close();
});

test(`healthy daemons are never restarted over a ${HEALTHY_RUN_MS / 60_000}-minute run (WatchdogSec=${WATCHDOG_SEC}s)`, { skip, timeout: HEALTHY_RUN_MS + 30_000 }, async () => {
  const before = await Promise.all([sd!.show(AGENT, PROPS), sd!.show(COORD, PROPS)]);
  for (const p of before) assert.equal(`${p.ActiveState}/${p.SubState}`, 'active/running');
  // looked at every 10 s, so a restart and its recovery in between cannot hide
  for (let waited = 0; waited < HEALTHY_RUN_MS; waited += 10_000) {
    await sleep(10_000);
    const now = await Promise.all([sd!.show(AGENT, PROPS), sd!.show(COORD, PROPS)]);
    for (const [i, p] of now.entries()) {
      assert.equal(p.NRestarts, '0', `${[AGENT, COORD][i]} restarted after ${waited + 10_000} ms`);
      assert.equal(p.MainPID, before[i]!.MainPID);
      assert.equal(p.ActiveState, 'active');
    }
  }
  assert.doesNotMatch(sd!.managerLog(), /Watchdog timeout/);
});

/** SIGSTOP the main process; returns ms until systemd runs a new one (READY=1 sent). */
async function stopAndTimeRestart(unit: string): Promise<number> {
  const before = await sd!.show(unit, PROPS);
  const pid = Number(before.MainPID);
  const t0 = Date.now();
  signalPid(pid, 'SIGSTOP');
  try {
    await waitFor(
      async () => {
        const p = await sd!.show(unit, PROPS);
        return p.ActiveState === 'active' && p.MainPID !== '0' && p.MainPID !== before.MainPID;
      },
      WATCHDOG_SEC * 1000 + RESTART_MARGIN_MS,
      `${unit} restarted by its watchdog`,
    );
  } finally {
    try {
      signalPid(pid, 'SIGCONT');
    } catch {
      /* killed by systemd, as it should be */
    }
  }
  const took = Date.now() - t0;
  const after = await sd!.show(unit, PROPS);
  assert.equal(Number(after.NRestarts), Number(before.NRestarts) + 1);
  assert.match(sd!.managerLog(), new RegExp(`${unit.replace('.', '\\.')}: Watchdog timeout \\(limit ${WATCHDOG_SEC}s\\)!`));
  process.stderr.write(`# ${unit}: SIGSTOP -> running again after ${took} ms (WatchdogSec=${WATCHDOG_SEC}s)\n`);
  return took;
}

test('a SIGSTOPped agent misses its pings and systemd restarts it within WatchdogSec + margin', { skip }, async () => {
  const took = await stopAndTimeRestart(AGENT);
  assert.ok(took >= 1000, `${took} ms: not before a missed ping`);
});

test('a SIGSTOPped coordinator misses its pings and systemd restarts it within WatchdogSec + margin', { skip }, async () => {
  const took = await stopAndTimeRestart(COORD);
  assert.ok(took >= 1000, `${took} ms: not before a missed ping`);
});

test("the dead-man's switch is hit at its interval while healthy and stops with the coordinator", { skip }, async () => {
  await waitFor(async () => (await sd!.show(COORD, ['ActiveState'])).ActiveState === 'active', 10_000, 'coordinator active');
  pings = [];
  const windowMs = 3_000;
  await sleep(windowMs);
  const expected = windowMs / PING_INTERVAL_MS;
  assert.ok(pings.length >= expected - 2 && pings.length <= expected + 1, `${pings.length} pings in ${windowMs} ms, interval ${PING_INTERVAL_MS} ms`);
  const gaps = pings.slice(1).map((t, i) => t - pings[i]!);
  assert.ok(gaps.every((g) => g >= PING_INTERVAL_MS - 100 && g < PING_INTERVAL_MS * 3), `gaps ${gaps.join(', ')} ms`);
  assert.equal((await sd!.systemctl('stop', COORD)).code, 0);
  const stoppedAt = Date.now();
  await sleep(4 * PING_INTERVAL_MS);
  assert.deepEqual(pings.filter((t) => t > stoppedAt), [], 'no ping after the coordinator stopped');
  assert.equal((await sd!.show(COORD, ['ActiveState'])).ActiveState, 'inactive');
});
