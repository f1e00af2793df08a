/**
 * Where the stand-in's `systemctl` and `journalctl` wrappers live (dist/demo/bin), so tests
 * and the demo can put that directory first on PATH. post-build writes `systemctl`; the
 * `journalctl` wrapper is written here on first use (and `systemctl` too, after a plain tsc).
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_DIR_ENV } from './paths.js';

const here = dirname(fileURLToPath(import.meta.url));

function wrapper(script: string): string {
  return `#!/bin/sh\n# llm-health service-manager stand-in (demo and tests); see demo/service-manager/\nexec node "$(dirname "$0")/../service-manager/${script}" "$@"\n`;
}

/** Absolute path of dist/demo/bin, with both wrappers in place. */
export function ensureBinDir(): string {
  const binDir = resolve(here, '..', 'bin');
  mkdirSync(binDir, { recursive: true });
  for (const [name, script] of [['systemctl', 'systemctl.js'], ['journalctl', 'journalctl.js']] as const) {
    const path = join(binDir, name);
    if (existsSync(path)) continue;
    // parallel test files may get here at once: publish the wrapper whole, by rename
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, wrapper(script));
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  }
  return binDir;
}

/** `base` with the stand-in first on PATH and its state directory set: what a test or the demo runs the agent with. */
export function standInEnv(dir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, PATH: [ensureBinDir(), base.PATH].filter(Boolean).join(delimiter), [SERVICE_DIR_ENV]: dir };
}
