#!/usr/bin/env node
// After tsc: make the CLI entry executable and write the service-manager stand-in wrapper
// (dist/demo/bin/systemctl) that tests and the demo put first on PATH; copy the dashboard's
// stylesheet next to its compiled modules (dist/coordinator/web/, served from /ui/).
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli', 'main.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
const binDir = join(root, 'dist', 'demo', 'bin');
mkdirSync(binDir, { recursive: true });
const wrapper = join(binDir, 'systemctl');
// write + rename: a test running the wrapper during a rebuild must never see an empty file
const tmp = `${wrapper}.${process.pid}.tmp`;
writeFileSync(tmp, '#!/bin/sh\n# llm-health service-manager stand-in (demo and tests); see demo/service-manager/\nexec node "$(dirname "$0")/../service-manager/systemctl.js" "$@"\n', { mode: 0o755 });
renameSync(tmp, wrapper);

const webSrc = join(root, 'coordinator', 'web');
const webOut = join(root, 'dist', 'coordinator', 'web');
mkdirSync(webOut, { recursive: true });
for (const name of readdirSync(webSrc)) if (name.endsWith('.css')) copyFileSync(join(webSrc, name), join(webOut, name));
