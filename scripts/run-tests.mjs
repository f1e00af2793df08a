#!/usr/bin/env node
// Runs the compiled test suite with node:test. Unit tests run in parallel; multi-process
// integration tests (test/integration) run one file at a time because they measure
// recovery behaviour with real timers on a 2-core machine. A final plain
// "N passed, N failed, N skipped" line sums both runs.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');
const only = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

let files = walk(testRoot);
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
const integration = files.filter((f) => f.includes(`${join('test', 'integration')}/`));
const unit = files.filter((f) => !integration.includes(f));

const totals = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
let failedRun = false;
const tmp = mkdtempSync(join(tmpdir(), 'llmh-tests-'));

function run(label, list, concurrency) {
  if (!list.length) return;
  const tapFile = join(tmp, `${label}.tap`);
  const res = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, ...list],
    { stdio: 'inherit', cwd: root, env: { ...process.env, LLM_HEALTH_LOG_LEVEL: process.env.LLM_HEALTH_LOG_LEVEL ?? 'silent' } },
  );
  if (res.status !== 0) failedRun = true;
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    failedRun = true;
  }
  for (const key of Object.keys(totals)) {
    const m = tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
    if (m) totals[key] += Number(m[1]);
  }
}

run('unit', unit, 2);
run('integration', integration, 1);
rmSync(tmp, { recursive: true, force: true });
if (totals.pass + totals.fail === 0) failedRun = true;
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped + totals.todo} skipped`);
process.exit(failedRun || totals.fail > 0 || totals.cancelled > 0 ? 1 : 0);
