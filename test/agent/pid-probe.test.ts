import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createPidProbe } from '../../agent/pid-probe.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a running process is alive; after SIGKILL it is gone, on the same open probe', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const probe = createPidProbe();
  try {
    assert.equal(probe.alive(child.pid!), true);
    assert.equal(probe.alive(child.pid!), true, 'asked again through the kept file');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(probe.alive(child.pid!), false);
  } finally {
    probe.close();
    child.kill('SIGKILL');
  }
});

test('a zombie is not alive although kill(pid, 0) still succeeds for it', async () => {
  // the inner sleep's parent execs into a long sleep that never reaps it
  const parent = spawn('bash', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const probe = createPidProbe();
  try {
    const [line] = (await once(createInterface({ input: parent.stdout! }), 'line')) as [string];
    const pid = Number(line);
    assert.ok(pid > 0);
    assert.equal(probe.alive(pid), true);
    await sleep(400);
    process.kill(pid, 0); // does not throw: the zombie is still in the process table
    assert.equal(probe.alive(pid), false);
  } finally {
    probe.close();
    parent.kill('SIGKILL');
  }
});

test('no PID, a negative PID and a PID that does not exist are not alive', () => {
  const probe = createPidProbe();
  assert.equal(probe.alive(0), false);
  assert.equal(probe.alive(-5), false);
  assert.equal(probe.alive(2 ** 22 + 12345), false);
  probe.close();
});

test('switching PIDs follows the new one', async () => {
  const a = spawn('sleep', ['30'], { stdio: 'ignore' });
  const b = spawn('sleep', ['30'], { stdio: 'ignore' });
  await Promise.all([once(a, 'spawn'), once(b, 'spawn')]);
  const probe = createPidProbe();
  try {
    assert.equal(probe.alive(a.pid!), true);
    a.kill('SIGKILL');
    await once(a, 'exit');
    assert.equal(probe.alive(b.pid!), true);
    assert.equal(probe.alive(a.pid!), false);
  } finally {
    probe.close();
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  }
});
