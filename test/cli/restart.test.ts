import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Event } from '../../shared/protocol/messages.js';
import { events, hello, iso, snapshot } from '../coordinator/protocol-samples.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, TestAgent, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

/**
 * `llm-health restart` as a user runs it: a real CLI process against a real coordinator, whose
 * one agent is scripted over a real WebSocket. It answers each restart command the way the
 * real agent does (command_received, command_result, then the service healthy again), or
 * refuses it when told to. Through a pseudo-terminal (`script`) it confirms and draws a
 * progress bar; without one it prints plain timestamped lines.
 */
const CLI = new URL('../../cli/main.js', import.meta.url).pathname;

class ScriptedAgent {
  private seq = 0;
  refuse = false;
  private stopped = false;

  constructor(readonly agent: TestAgent) {}

  static async start(url: string): Promise<ScriptedAgent> {
    const { agent } = await TestAgent.hello(url, 'gpu-a', 'boot1');
    agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
    const s = new ScriptedAgent(agent);
    void s.loop();
    return s;
  }

  private send(e: Omit<Event, 'agentId' | 'bootId' | 'seq' | 'at'>): void {
    this.agent.send(events([{ agentId: 'gpu-a', bootId: 'boot1', seq: ++this.seq, at: iso(Date.now()), ...e } as Event]));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const cmd = await this.agent.next('command', 60_000).catch(() => null);
      if (!cmd) continue;
      const data = { id: cmd.id, action: cmd.action };
      this.send({ type: 'command_received', service: cmd.service, reason: `command ${cmd.action}`, data });
      if (this.refuse) {
        this.send({ type: 'command_result', service: cmd.service, reason: 'refused: no such unit in this agent\'s config', data: { id: cmd.id, ok: false, outcome: 'refused' } });
        continue;
      }
      this.send({ type: 'command_result', service: cmd.service, reason: 'restarted', data: { id: cmd.id, ok: true, outcome: 'succeeded', unit: `${cmd.service}.service` } });
      await new Promise((r) => setTimeout(r, 300));
      this.send({ type: 'state_changed', service: cmd.service, from: 'starting', to: 'healthy', reason: 'ready' });
    }
  }

  stop(): void {
    this.stopped = true;
    this.agent.ws.terminate();
  }
}

function run(args: string[], opts: { input?: string; pty?: boolean } = {}): Promise<{ code: number | null; out: string; err: string }> {
  const argv = [CLI, 'restart', ...args];
  // `script` gives the CLI a pseudo-terminal as stdin and stdout; it copies our stdin to it
  const [cmd, cmdArgs] = opts.pty ? ['script', ['-qfec', [process.execPath, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null']] : [process.execPath, argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, cmdArgs as string[], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    if (opts.input !== undefined) setTimeout(() => child.stdin.end(opts.input), 1500);
    else child.stdin.end();
  });
}

describe('llm-health restart against a coordinator', () => {
  let t: TestCoordinator;
  let agent: ScriptedAgent;
  let base: string;
  before(async () => {
    t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
    base = t.coord.url;
    agent = await ScriptedAgent.start(wsUrl(t.coord));
  });
  after(async () => {
    agent.stop();
    await t.close();
  });

  test('without a terminal: plain ISO-timestamped lines, the outcome, exit 0', async () => {
    const r = await run(['--url', base, '--token', ADMIN_TOKEN, '--host', 'gpu-a', '--yes', '--reason', 'new weights']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^job [A-Za-z0-9_-]+ started$/m);
    assert.match(r.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}gpu-a\/llama {2}healthy/m);
    assert.match(r.out, /^\d{4}-\d\d-\d\dT\S+ {2}gpu-a\/qwen {2}healthy/m);
    assert.match(r.out, /^job \S+ succeeded: 2 healthy$/m);
    assert.doesNotMatch(r.out, /\x1b\[K|\[#+-*\]/, 'no progress bar off a terminal');
  });

  test('on a terminal: the targets, a question, a progress bar redrawn in place', async () => {
    const r = await run(['--url', base, '--token', ADMIN_TOKEN, '--service', 'llama'], { pty: true, input: 'y\n' });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /1 target\(s\):\r?\n {2}gpu-a\/llama {2}llama\.service/);
    assert.match(r.out, /Restart 1 service\(s\)\? \[y\/N\]/);
    assert.match(r.out, /\r\x1b\[K\[#{24}\] 1\/1 {2}1 healthy/);
    assert.match(r.out, /\d\d:\d\d:\d\d {2}gpu-a\/llama {2}healthy/);
    assert.match(r.out, /job \S+ succeeded: 1 healthy/);
  });

  test('on a terminal, answering no restarts nothing (exit 1)', async () => {
    const before = ((await (await fetch(`${base}/api/v1/restarts`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } })).json()) as { jobs: unknown[] }).jobs.length;
    const r = await run(['--url', base, '--token', ADMIN_TOKEN, '--service', 'llama'], { pty: true, input: 'n\n' });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /not restarted/);
    const after = ((await (await fetch(`${base}/api/v1/restarts`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } })).json()) as { jobs: unknown[] }).jobs.length;
    assert.equal(after, before);
  });

  test('a refused restart: the target fails with the agent\'s reason, exit 1', async () => {
    agent.refuse = true;
    try {
      const r = await run(['--url', base, '--token', ADMIN_TOKEN, '--service', 'qwen', '--yes']);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.out, /gpu-a\/qwen {2}failed: .*refused/);
      assert.match(r.out, /^job \S+ failed: 1 failed\n {2}gpu-a\/qwen {2}failed/m);
    } finally {
      agent.refuse = false;
    }
  });

  test('dry run, --json and --detach', async () => {
    const dry = await run(['--url', base, '--token', ADMIN_TOKEN, '--host', 'gpu-*', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.equal(dry.out, '2 target(s):\n  gpu-a/llama  llama.service\n  gpu-a/qwen   qwen.service\n');
    const detached = await run(['--url', base, '--token', ADMIN_TOKEN, '--service', 'llama', '--yes', '--detach']);
    assert.equal(detached.code, 0);
    assert.match(detached.out, /^[A-Za-z0-9_-]{10,}\n$/);
    const json = await run(['--url', base, '--token', ADMIN_TOKEN, '--service', 'qwen', '--yes', '--json']);
    assert.equal(json.code, 0, json.err);
    const job = JSON.parse(json.out) as { state: string; targets: { state: string }[] };
    assert.equal(job.state, 'succeeded');
  });

  test('exit codes: no token or a viewer token → 1 with why; no selector, or no terminal and no --yes → 2', async () => {
    const none = await run(['--url', base, '--host', 'gpu-a', '--yes']);
    assert.equal(none.code, 1);
    assert.match(none.err, /wants an admin token/);
    const viewer = await run(['--url', base, '--token', VIEWER_TOKEN, '--host', 'gpu-a', '--yes']);
    assert.equal(viewer.code, 1);
    assert.match(viewer.err, /wants an admin token.*may not change anything/);
    const noSelector = await run(['--url', base, '--token', ADMIN_TOKEN, '--yes']);
    assert.equal(noSelector.code, 2);
    const noTty = await run(['--url', base, '--token', ADMIN_TOKEN, '--host', 'gpu-a']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.err, /not a terminal.*--yes/);
    const nothing = await run(['--url', base, '--token', ADMIN_TOKEN, '--host', 'nope-*', '--yes']);
    assert.equal(nothing.code, 2, 'a selector matching nothing is refused (400)');
  });
});
