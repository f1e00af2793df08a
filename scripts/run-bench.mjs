#!/usr/bin/env node
// Runs the benchmarks (compiled to dist/bench/*.js by `npm run build`) one after another,
// never two at once: `npm run bench` runs all of them, `npm run bench -- recovery footprint`
// the ones named. Options go to the benchmarks that take them, e.g.
// `npm run bench -- false-restarts --duration 30s`. Results: .bench-out/<name>-*.json.
// Every top-level dist/bench/<name>.js is a benchmark; the agent benchmarks below come first
// and get their options filtered, any other benchmark gets all options when it is named.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'dist', 'bench');

/** The agent benchmarks (bench/README.md) and the options each one takes. */
const AGENT_BENCHES = {
  recovery: ['--runs', '--hang-runs', '--no-monit', '--retry-delay'],
  'false-restarts': ['--duration', '--stall', '--no-monit'],
  'probe-cost': ['--runs'],
  footprint: ['--duration', '--monit-check', '--no-monit', '--agent', '--agent-node-options', '--segments', '--extra-processes', '--agent-env', '--no-unit-env'],
};
const BOOLEAN_FLAGS = new Set(['--no-monit']);
const AGENT_FLAGS = new Set(Object.values(AGENT_BENCHES).flat());

const discovered = existsSync(benchDir)
  ? readdirSync(benchDir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort()
  : [];
const ALL = [...Object.keys(AGENT_BENCHES), ...discovered.filter((n) => !(n in AGENT_BENCHES))];

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench -- [${ALL.join('|')} ...] [options]

  no name: run all of them, one after another, in this order: ${ALL.join(', ')}
  agent benchmark options (each goes to the benchmarks that take it):
    --duration D      false-restarts (default 2m), footprint (default 60s)
    --runs N          recovery: SIGKILL runs (default 10); probe-cost: curl probes (default 300)
    --hang-runs N     recovery: SIGSTOP runs (default 5)
    --stall hang|slow false-restarts: how the server stalls (default hang)
    --monit-check process|host   footprint: monit check type (default process)
    --segments N      footprint: alternating ours/monit windows (default 3)
    --extra-processes N          footprint: N idle processes on the machine meanwhile (default 0)
    --no-monit        skip the monit baseline
  to explore (the recorded figures use the defaults):
    --retry-delay D   recovery: the agent's retryDelay (default 500ms)
    --agent cli|bundle           footprint: run dist/cli/main.js (default) or dist/llm-health-agent.mjs
    --agent-node-options=FLAGS   footprint: node flags for the agent, e.g. =--max-semi-space-size=1
    --agent-env="K=V ..."         footprint: extra environment for the agent, e.g. ="MALLOC_ARENA_MAX=2"
    --no-unit-env                footprint: run the agent without the Environment= of deploy/llm-health-agent.service
  any other benchmark named on the command line gets every option as given.
    dashboard: --runs N (cold page loads, default 5), --changes N (default 6), --hosts N (default 200)
    rolling-restart: --targets N (default 200), --max-parallel N (default 10), --load-min D / --load-max D (default 200ms / 600ms)
  BENCH_QUIET_WAIT_S (default 60): how long each agent benchmark first waits for a quiet machine.
  The monit baselines need Debian's monit (apt-get install -y monit); without it they are skipped.
  Build first: npm run build. See bench/README.md.`);
  process.exit(0);
}
if (!discovered.length) {
  console.error(`run-bench: no compiled benchmarks in ${benchDir}: run \`npm run build\` first`);
  process.exit(2);
}

const names = args.filter((a) => ALL.includes(a));
const options = args.filter((a) => !ALL.includes(a));
const others = names.filter((n) => !(n in AGENT_BENCHES));
// strict only when nothing else could be taking the options
if (!others.length) {
  const bad = [];
  for (let i = 0; i < options.length; i++) {
    const a = options[i];
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (!a.startsWith('-')) bad.push(`${a} (not a benchmark: known ${ALL.join(', ')})`);
    else if (!AGENT_FLAGS.has(flag)) bad.push(`${a} (unknown option)`);
    else if (!BOOLEAN_FLAGS.has(flag) && !a.includes('=')) i++; // its value
  }
  if (bad.length) {
    console.error(`run-bench: ${bad.join('; ')}; see npm run bench -- --help`);
    process.exit(2);
  }
}
const selected = names.length ? ALL.filter((n) => names.includes(n)) : ALL;

let failed = 0;
for (const name of selected) {
  const file = join(benchDir, `${name}.js`);
  if (!existsSync(file)) {
    console.error(`run-bench: ${file} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  const own = name in AGENT_BENCHES ? filterOptions(AGENT_BENCHES[name], options) : names.includes(name) ? options : [];
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

/** The options (with their values) that `accepts` lists; the others are skipped with their values. */
function filterOptions(accepts, opts) {
  const out = [];
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const takesValue = a.startsWith('--') && !BOOLEAN_FLAGS.has(flag) && !a.includes('=') && AGENT_FLAGS.has(flag);
    if (accepts.includes(flag)) {
      out.push(a);
      if (takesValue && i + 1 < opts.length) out.push(opts[++i]);
    } else if (takesValue) {
      i++; // this option's value belongs to it, not to us
    }
  }
  return out;
}
