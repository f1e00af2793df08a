/** Reading Prometheus text exposition in tests, and the Debian prometheus package's tools. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';

/**
 * Where a Prometheus binary is required: the test skips with this message when it is
 * missing on a developer machine, and fails under CI (which installs it: .ci/run).
 */
export function skipWithout(binary: string): string | false {
  if (existsSync(binary)) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') return false; // run, and fail on the missing binary
  return `${binary} not installed (apt-get install prometheus); CI installs it and runs this test`;
}

/**
 * Samples by `name{label="value",...}` with labels sorted by name, so a test asserts on
 * values without depending on the order prom-client writes labels in.
 */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    out.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return out;
}

/** `promtool check metrics` on `text`: what it printed (nothing when the exposition is clean) and its exit code. */
export function promtoolCheck(text: string, timeoutMs = 10_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('promtool check metrics did not finish'));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}
