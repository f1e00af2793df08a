/**
 * The agent on a disk that is full (a real tmpfs, filled up, in a private mount namespace of
 * the agent's own), under its spool or under its log file: the agent keeps probing and
 * restarting, says once what is wrong, loses no event that it can still send, and uses the
 * disk again once it has room. Needs root and util-linux's unshare; skips cleanly otherwise.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, createHarness, waitFor, type AgentProcess, type Harness, type LoggedEvent } from '../helpers/agent-harness.js';
import { AGENT_TOKEN as TOKEN, startTestCoordinator, type TestCoordinator } from '../coordinator/helpers.js';

/** tmpfs size; the fill file takes all of it */
const DISK_BYTES = 16 * 1024;
/** how long the spool and the log file wait before trying a disk that refused writes again */
const DISK_RETRY_MS = 5_000;

/** Mounts a tmpfs on $0 in a new mount namespace and fills it (writing until ENOSPC, whatever the page size). */
const MOUNT_AND_FILL = `mount -t tmpfs -o size=${DISK_BYTES} tmpfs "$0" && { head -c ${DISK_BYTES * 64} /dev/zero > "$0/fill" 2>/dev/null || true; }`;
/** ... then runs the rest of the argv there */
const MOUNT_FULL_DISK = `${MOUNT_AND_FILL} && exec "$@"`;

function canRun(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'llmh-unshare-probe-'));
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', MOUNT_FULL_DISK, dir, 'true']);
  rmSync(dir, { recursive: true, force: true });
  if (probe.error) return `needs unshare (util-linux): ${probe.error.message}`;
  if (probe.status !== 0) return `cannot mount a tmpfs in a private mount namespace here: ${probe.stderr.toString().trim()}`;
  return null;
}
const skip = canRun();

let h: Harness;

/** SIGKILLs the unit's server and waits for the agent's restart of it; returns that event. */
async function crashAndAwaitRestart(agent: AgentProcess, unit: string, what: string): Promise<LoggedEvent> {
  const killedAt = Date.now();
  process.kill(h.sandbox.mainPid(unit), 'SIGKILL');
  return agent.waitEvent((e) => e.type === 'restart_succeeded' && Date.parse(e.at) >= killedAt, 15_000, what);
}
let coordinator: TestCoordinator;

before(async () => {
  if (skip) return;
  coordinator = await startTestCoordinator();
  h = createHarness();
});

after(async () => {
  if (skip) return;
  await h?.cleanup();
  await coordinator?.close();
});

test('spool on a full disk: local restarts go on, events reach the coordinator from memory, one clear error; the spool is written again once there is room', { skip: skip ?? false }, async () => {
  const port = await h.startEmulator('df-llama.service', 'llamacpp');
  const spoolDir = join(h.dir, 'spool');
  mkdirSync(spoolDir);
  const agent = h.spawnAgent(
    `agent: { id: df-agent }
coordinator: { url: 'ws://127.0.0.1:${coordinator.coord.port}/agent', token: '${TOKEN}', spoolDir: '${spoolDir}', heartbeat: 1s, reconnectMax: 1s }
defaults: { interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms, startupGrace: 10s }
gpu: { enabled: false }
restart: { backoff: 200ms }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: df-llama.service }
`,
    {},
    ['unshare', '-m', '--propagation', 'private', 'sh', '-c', MOUNT_FULL_DISK, spoolDir],
  );
  const logLines = (pattern: RegExp) => agent.lines.filter((l) => pattern.test(l));
  await agent.waitEvent((e) => e.service === 'llama' && e.to === 'healthy', 15_000, 'healthy');
  await waitFor(() => logLines(/spool: cannot write/).length > 0, 5_000, 'the spool error in the log');
  const [errorLine] = logLines(/spool: cannot write/);
  const rec = JSON.parse(errorLine!) as { level: number; code: string; msg: string };
  assert.equal(rec.level, 50, 'logged as an error');
  assert.equal(rec.code, 'ENOSPC');
  assert.match(rec.msg, /kept in memory/);

  const storedSeqs = async () => (await coordinator.coord.store.events.listEvents({ host: 'df-agent', limit: 1000 })).filter((e) => e.bootId === agent.events[0]!.bootId).map((e) => e.seq);
  const delivered = (e: LoggedEvent) => async () => (await storedSeqs()).includes(e.seq);

  // a crash on the full disk: restarted as always, and the events arrive
  const restarted = await crashAndAwaitRestart(agent, 'df-llama.service', 'restart on the full disk');
  await waitFor(delivered(restarted), 10_000, 'the restart event delivered from memory');
  assert.equal(logLines(/spool: cannot write/).length, 1, 'said once, not once per event');

  // room again (the agent's own view of its mount): the next event after the retry interval
  // writes the spool again
  rmSync(`/proc/${agent.child.pid}/root${spoolDir}/fill`);
  await sleep(DISK_RETRY_MS + 200);
  const again = await crashAndAwaitRestart(agent, 'df-llama.service', 'restart after the disk recovered');
  await waitFor(() => logLines(/spool: .* accepts writes again/).length > 0, 5_000, 'the recovery in the log');
  await waitFor(delivered(again), 10_000, 'delivered after the recovery');

  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  const seqs = await storedSeqs();
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every event, in order, no gap');
  assert.deepEqual(new Set(agent.events.map((e) => e.seq)).size, agent.events.length);
  assert.ok(agent.events.every((e) => seqs.includes(e.seq)), 'every event the agent logged is stored');
  await agent.stop();
});

test('log file on a full disk: the agent keeps running and restarting, stdout has every line and says so once; the file takes lines again once there is room', { skip: skip ?? false }, async () => {
  const port = await h.startEmulator('lf-llama.service', 'llamacpp');
  const logDir = join(h.dir, 'agent-logs');
  mkdirSync(logDir);
  const logFile = join(logDir, 'agent.log');
  const agent = h.spawnAgent(
    `agent: { id: lf-agent }
defaults: { interval: 1s, timeout: 1s, retries: 3, retryDelay: 500ms, startupGrace: 10s }
gpu: { enabled: false }
restart: { backoff: 200ms }
log: { file: '${logFile}' }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: lf-llama.service }
`,
    {},
    ['unshare', '-m', '--propagation', 'private', 'sh', '-c', MOUNT_FULL_DISK, logDir],
  );
  const logLines = (pattern: RegExp) => agent.lines.filter((l) => pattern.test(l));
  await agent.waitEvent((e) => e.service === 'llama' && e.to === 'healthy', 15_000, 'healthy');
  await waitFor(() => logLines(/cannot write the log file/).length > 0, 5_000, 'the log file error on stdout');
  assert.match(logLines(/cannot write the log file/)[0]!, /"code":"ENOSPC"/);

  await crashAndAwaitRestart(agent, 'lf-llama.service', 'restart with the log file on a full disk');
  assert.equal(logLines(/cannot write the log file/).length, 1, 'said once');

  const inAgentsView = `/proc/${agent.child.pid}/root${logDir}`;
  rmSync(`${inAgentsView}/fill`);
  await sleep(DISK_RETRY_MS + 200);
  const again = await crashAndAwaitRestart(agent, 'lf-llama.service', 'restart after the disk recovered');
  await waitFor(() => logLines(/takes lines again/).length > 0, 5_000, 'the recovery on stdout');
  const fileText = readFileSync(`${inAgentsView}/agent.log`, 'utf8');
  assert.ok(fileText.includes(`"seq":${again.seq},`), 'the log file has the events again');
  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  await agent.stop();
});

test('stdout redirected to a file on a full disk: the agent keeps running, and log.file says why stdout is silent', { skip: skip ?? false }, async () => {
  const port = await h.startEmulator('so-llama.service', 'llamacpp');
  const outDir = join(h.dir, 'stdout-disk');
  mkdirSync(outDir);
  const logFile = join(h.dir, 'so-agent.log');
  const config = join(h.dir, 'so-agent.yaml');
  writeFileSync(
    config,
    `agent: { id: so-agent }
gpu: { enabled: false }
log: { file: '${logFile}' }
services:
  - { name: llama, kind: llamacpp, url: 'http://127.0.0.1:${port}', unit: so-llama.service }
`,
  );
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${MOUNT_AND_FILL} && exec "$@" > "$0/stdout.log"`, outDir, process.execPath, CLI, 'agent', '-c', config], {
    env: h.sandbox.env,
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const fileText = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    await waitFor(() => /cannot write stdout \(ENOSPC\)/.test(fileText()), 10_000, 'the stdout trouble in log.file');
    await waitFor(() => fileText().includes('"to":"healthy"'), 10_000, 'probing goes on');
    assert.equal(child.exitCode, null, 'still running');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean stop');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
