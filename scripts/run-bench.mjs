#!/usr/bin/env node
// Runs the benchmarks (compiled to dist/bench/ by `npm run build`) one after another, never
// two at once: `npm run bench` runs all of them, `npm run bench -- recovery footprint` the
// ones named. Any other argument is passed to every benchmark run, e.g.
// `npm run bench -- false-restarts --duration 30s`. Results: .bench-out/<name>-*.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ALL = ['recovery', 'false-restarts', 'probe-cost', 'footprint'];

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench -- [${ALL.join('|')} ...] [options]

  no name: run all of them, in this order: ${ALL.join(', ')}
  options (passed to each benchmark that knows them):
    --duration D      false-restarts (default 2m), footprint (default 60s)
    --runs N          recovery: SIGKILL runs (default 10); probe-cost: curl probes (default 300)
    --hang-runs N     recovery: SIGSTOP runs (default 5)
    --stall hang|slow false-restarts: how the server stalls (default hang)
    --monit-check process|host   footprint: monit check type (default process)
    --no-monit        skip the monit baseline
  to explore (the recorded figures use the defaults):
    --retry-delay D   recovery: the agent's retryDelay (default 500ms)
    --agent cli|bundle           footprint: run dist/cli/main.js (default) or dist/llm-health-agent.mjs
    --agent-node-options=FLAGS   footprint: node flags for the agent, e.g. =--max-semi-space-size=1
  BENCH_QUIET_WAIT_S (default 60): how long each benchmark waits for a quiet machine first.
  The monit baselines need Debian's monit (apt-get install -y monit); without it they are skipped.
  Build first: npm run build. See bench/README.md.`);
  process.exit(0);
}
const names = args.filter((a) => ALL.includes(a));
const unknown = args.filter((a, i) => !ALL.includes(a) && !a.startsWith('-') && !(i > 0 && args[i - 1].startsWith('--') && !['--no-monit'].includes(args[i - 1])));
if (unknown.length) {
  console.error(`run-bench: unknown benchmark(s) ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  process.exit(2);
}
const options = args.filter((a) => !ALL.includes(a));
const KNOWN_FLAGS = ['--duration', '--runs', '--hang-runs', '--stall', '--monit-check', '--no-monit', '--agent', '--agent-node-options', '--retry-delay'];
const badFlags = options.filter((a) => a.startsWith('-') && !KNOWN_FLAGS.includes(a.includes('=') ? a.slice(0, a.indexOf('=')) : a));
if (badFlags.length) {
  console.error(`run-bench: unknown option(s) ${badFlags.join(', ')}; see npm run bench -- --help`);
  process.exit(2);
}
const selected = names.length ? ALL.filter((n) => names.includes(n)) : ALL;

let failed = 0;
for (const name of selected) {
  const file = join(root, 'dist', 'bench', `${name}.js`);
  if (!existsSync(file)) {
    console.error(`run-bench: ${file} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  // options only go to benchmarks that accept them (strict argument parsing in each)
  const own = filterOptions(name, options);
  const started = Date.now();
  const res = spawnSync(process.execPath, [file, ...own], { stdio: 'inherit', cwd: root, env: process.env });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  if (res.status !== 0) {
    failed++;
    console.error(`=== bench: ${name} failed (exit ${res.status ?? res.signal}) after ${secs} s ===`);
  } else {
    console.log(`=== bench: ${name} done in ${secs} s ===`);
  }
}
process.exit(failed ? 1 : 0);

function filterOptions(name, opts) {
  const accepts = {
    recovery: ['--runs', '--hang-runs', '--no-monit', '--retry-delay'],
    'false-restarts': ['--duration', '--stall', '--no-monit'],
    'probe-cost': ['--runs'],
    footprint: ['--duration', '--monit-check', '--no-monit', '--agent', '--agent-node-options'],
  }[name];
  const out = [];
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const takesValue = flag !== '--no-monit' && !a.includes('=');
    if (accepts.includes(flag)) {
      out.push(a);
      if (takesValue && i + 1 < opts.length) out.push(opts[++i]);
    } else if (takesValue && i + 1 < opts.length && !opts[i + 1].startsWith('--')) {
      i++; // skip this option's value too
    }
  }
  return out;
}
