/**
 * `llm-health emulate` as a real child process: the JSON announcement, exit 1 on a crash
 * (asked for or timed), exit 0 on SIGTERM (after llama.cpp's clients have gone), exit 2 on
 * bad flags, and the ports that vLLM and a starting llama.cpp keep closed.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setRemoteMode } from '../../../demo/emulator/client.js';

const CLI = fileURLToPath(new URL('../../../cli/main.js', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Announcement {
  event: string;
  kind: string;
  port: number;
  pid: number;
  url: string;
}

interface Spawned {
  child: ChildProcess;
  /** the JSON lines printed so far, and the next ones as they come */
  next(): Promise<Announcement>;
  exit: Promise<number | null>;
  stderr(): string;
}

function emulate(...args: string[]): Spawned {
  const child = spawn(process.execPath, [CLI, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Announcement[] = [];
  const waiters: Array<(a: Announcement) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = JSON.parse(line) as Announcement;
    const waiter = waiters.shift();
    if (waiter) waiter(parsed);
    else lines.push(parsed);
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    next: () => {
      const ready = lines.shift();
      if (ready) return Promise.resolve(ready);
      return Promise.race([
        new Promise<Announcement>((resolve) => waiters.push(resolve)),
        exit.then((code) => Promise.reject(new Error(`emulator exited ${code} before announcing: ${err}`))),
      ]);
    },
    exit,
    stderr: () => err,
  };
}

function alive(emu: Spawned): boolean {
  return emu.child.exitCode === null && emu.child.signalCode === null;
}

/** Resolves with the exit code, or 'running' if the process is still there after `ms`. */
function exitWithin(emu: Spawned, ms: number): Promise<number | null | 'running'> {
  return Promise.race([emu.exit, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms))]);
}

/** Generations that run until the test lets go of them. */
function generations(url: string, count: number): AbortController[] {
  return Array.from({ length: count }, () => {
    const ac = new AbortController();
    const body = JSON.stringify({ prompt: 'Once upon a time', n_predict: 10_000_000, ignore_eos: true });
    fetch(`${url}/completion`, { method: 'POST', body, signal: ac.signal }).catch(() => undefined);
    return ac;
  });
}

async function untilMetrics(url: string, ok: (text: string) => boolean, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) })).text();
    if (ok(text)) return text;
    if (Date.now() > deadline) assert.fail(`metrics never got there:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function untilRefused(url: string, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await refused(url)) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return false;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

describe('llm-health emulate', () => {
  test('announces itself, serves, and exits 1 when crashed through the control route', async () => {
    const emu = emulate('--kind', 'llamacpp', '--port', '0');
    const line = await emu.next();
    assert.equal(line.event, 'listening');
    assert.equal(line.kind, 'llamacpp');
    assert.equal(line.pid, emu.child.pid);
    assert.equal(line.url, `http://127.0.0.1:${line.port}`);
    const health = await fetch(`${line.url}/health`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    await setRemoteMode(line.url, 'crash');
    assert.equal(await emu.exit, 1);
  });

  test('--crash-after exits 1 on its own', async () => {
    const emu = emulate('--kind', 'tgi', '--port', '0', '--crash-after', '300ms');
    assert.equal((await emu.next()).event, 'listening');
    const started = Date.now();
    assert.equal(await emu.exit, 1);
    assert.ok(Date.now() - started < 2000);
  });

  test('SIGTERM closes cleanly with exit 0, even with a hung request open', async () => {
    const emu = emulate('--kind', 'vllm', '--port', '0', '--mode', 'gen_hang');
    const { url } = await emu.next();
    const hung = fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) }).catch(() => 'closed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    emu.child.kill('SIGTERM');
    assert.equal(await emu.exit, 0);
    assert.equal(await hung, 'closed');
  });

  test('vLLM with a load time: "starting" at once, "listening" when the port really opens', async () => {
    const emu = emulate('--kind', 'vllm', '--port', '0', '--load-time', '800ms');
    const starting = await emu.next();
    assert.equal(starting.event, 'starting');
    assert.ok(await refused(`${starting.url}/health`));
    const listening = await emu.next();
    assert.equal(listening.event, 'listening');
    assert.equal(listening.port, starting.port);
    assert.equal((await fetch(`${listening.url}/health`)).status, 200);
    emu.child.kill('SIGTERM');
    assert.equal(await emu.exit, 0);
  });

  test('bad flags are a usage error (exit 2)', async () => {
    const unknown = emulate('--kind', 'llamacpp', '--frobnicate');
    assert.equal(await unknown.exit, 2);
    assert.match(unknown.stderr(), /frobnicate/);
    const badKind = emulate('--kind', 'mystery');
    assert.equal(await badKind.exit, 2);
    const badDuration = emulate('--kind', 'vllm', '--load-time', 'soon');
    assert.equal(await badDuration.exit, 2);
    assert.match(badDuration.stderr(), /--load-time/);
  });

  test('--slots, --tokens-per-second and --no-vision reach the server; bad values are usage errors', async () => {
    const emu = emulate('--kind', 'llamacpp', '--port', '0', '--slots', '2', '--tokens-per-second', '500', '--no-vision');
    const { url } = await emu.next();
    const props = (await (await fetch(`${url}/props`)).json()) as { total_slots: number; modalities: Record<string, boolean> };
    assert.equal(props.total_slots, 2);
    assert.deepEqual(props.modalities, { vision: false, video: false, audio: false });
    emu.child.kill('SIGTERM');
    assert.equal(await exitWithin(emu, 3000), 0);
    for (const bad of [['--slots', '0'], ['--slots', 'many'], ['--tokens-per-second', '-5'], ['--vision', '--no-vision'], ['--bind-delay', 'soon']]) {
      const run = emulate('--kind', 'llamacpp', ...bad);
      assert.equal(await exitWithin(run, 5000), 2, bad.join(' '));
    }
  });
});

describe('llm-health emulate --kind llamacpp on SIGTERM', () => {
  // Real b10472 with 5 clients generating (4 slots, 1 deferred): /health refused 6 ms after
  // SIGTERM, the process alive and idle 2.5 s later and after 4 of the clients went, then
  // exit 0 once the last one went. Its decode loop had stopped: nothing was generated.
  test('closes its port at once but lingers until its generating clients go, then exits 0', async () => {
    const emu = emulate('--kind', 'llamacpp', '--port', '0', '--metrics', '--tokens-per-second', '1000');
    const { url } = await emu.next();
    const clients = generations(url, 5);
    await untilMetrics(url, (t) => /^llamacpp:requests_processing 4$/m.test(t) && /^llamacpp:requests_deferred 1$/m.test(t));
    emu.child.kill('SIGTERM');
    assert.ok(await untilRefused(`${url}/health`), 'the port closed');
    assert.equal(await exitWithin(emu, 700), 'running', 'still there with its clients connected');
    for (const ac of clients.slice(0, 4)) ac.abort();
    assert.equal(await exitWithin(emu, 300), 'running', 'one client left');
    clients[4]!.abort();
    assert.equal(await exitWithin(emu, 3000), 0);
  });

  test('exits at once with nothing generating, or in a hung mode', async () => {
    const idle = emulate('--kind', 'llamacpp', '--port', '0');
    const { url } = await idle.next();
    assert.equal((await fetch(`${url}/completion`, { method: 'POST', body: JSON.stringify({ prompt: 'Hi', n_predict: 3 }) })).status, 200);
    idle.child.kill('SIGTERM');
    assert.equal(await exitWithin(idle, 2000), 0);

    const hung = emulate('--kind', 'llamacpp', '--port', '0', '--mode', 'gen_hang', '--metrics');
    const hungAt = (await hung.next()).url;
    const clients = generations(hungAt, 2);
    await untilMetrics(hungAt, (t) => /^llamacpp:requests_processing [1-9]/m.test(t));
    hung.child.kill('SIGTERM');
    assert.equal(await exitWithin(hung, 2000), 0);
    for (const ac of clients) ac.abort();
  });

  test('a second SIGTERM while it lingers ends it at once with exit 1', async () => {
    const emu = emulate('--kind', 'llamacpp', '--port', '0', '--metrics');
    const { url } = await emu.next();
    const clients = generations(url, 1);
    await untilMetrics(url, (t) => /^llamacpp:requests_processing 1$/m.test(t));
    emu.child.kill('SIGTERM');
    assert.ok(await untilRefused(`${url}/health`));
    assert.ok(alive(emu));
    emu.child.kill('SIGTERM');
    assert.equal(await exitWithin(emu, 2000), 1);
    assert.match(emu.stderr(), /second signal/);
    for (const ac of clients) ac.abort();
  });

  // Real b10472 polled every 5 ms from process start: refused until 13-20 ms, then 503
  // "Loading model" until the model was loaded (0.3-1.1 s on this machine), then 200.
  test('with --load-time: refused first, then 503 "Loading model", then 200', async () => {
    const emu = emulate('--kind', 'llamacpp', '--port', '0', '--load-time', '700ms', '--bind-delay', '200ms');
    const starting = await emu.next();
    assert.equal(starting.event, 'starting');
    assert.ok(await refused(`${starting.url}/health`));
    const listening = await emu.next();
    assert.equal(listening.event, 'listening');
    assert.equal(listening.port, starting.port);
    const loading = await fetch(`${listening.url}/health`);
    assert.equal(loading.status, 503);
    assert.equal(await loading.text(), '{"error":{"message":"Loading model","type":"unavailable_error","code":503}}');
    const deadline = Date.now() + 3000;
    let status = 503;
    while (status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await fetch(`${listening.url}/health`)).status;
    }
    assert.equal(status, 200);
    emu.child.kill('SIGTERM');
    assert.equal(await exitWithin(emu, 3000), 0);
  });
});
