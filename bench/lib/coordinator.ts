/**
 * The coordinator as its own process for benchmarks: `node CLI coordinator -c FILE`, with an
 * optional V8 inspector port (for CPU profiles and forced GCs of one window), its warn/error
 * log lines counted by message, and the last lines kept for error messages.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLine, freePort, spawnGroup, waitUntilReady } from './proc.js';

export interface CoordinatorChild {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  inspectPort: number | null;
  /** warn/error log lines: count and count per message */
  warnings: () => { count: number; kinds: Record<string, number> };
  /** the last 30 lines it wrote */
  tail: string[];
}

/** `yaml(port)` gives the config to write; the file goes to `dir`, relative paths resolve there. */
export async function spawnCoordinator(opts: { cli: string; dir: string; yaml: (port: number) => string; inspect?: boolean }): Promise<CoordinatorChild> {
  const port = await freePort();
  const inspectPort = opts.inspect ? await freePort() : null;
  const file = join(opts.dir, 'coordinator.yaml');
  writeFileSync(file, opts.yaml(port));
  const args = [...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []), opts.cli, 'coordinator', '-c', file];
  const child = spawnGroup(process.execPath, args, { cwd: opts.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLM_HEALTH_LOG_LEVEL: 'warn' } });
  const tail: string[] = [];
  let warnCount = 0;
  const kinds: Record<string, number> = {};
  forEachLine(child, (line) => {
    if (!line.trim()) return;
    tail.push(line.slice(0, 400));
    if (tail.length > 30) tail.shift();
    try {
      const rec = JSON.parse(line) as { level?: number; msg?: string };
      if ((rec.level ?? 0) >= 40) {
        warnCount++;
        const k = (rec.msg ?? '?').slice(0, 80);
        kinds[k] = (kinds[k] ?? 0) + 1;
      }
    } catch {
      // not a log record (the inspector's "Debugger listening" banner)
    }
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, 'coordinator', `${url}/healthz`, () => tail.join(' | '));
  return { child, pid: child.pid!, port, url, inspectPort, warnings: () => ({ count: warnCount, kinds: { ...kinds } }), tail };
}
