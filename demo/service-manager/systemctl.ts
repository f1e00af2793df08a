/**
 * `systemctl` for machines without systemd (tests, the demo): the verbs llm-health uses, with
 * systemd's output, messages and exit codes, over the stand-in's real processes. The state
 * directory comes from LLMH_SERVICE_DIR; each invocation's argv is appended to calls.log.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { currentState, killUnit, listUnitNames, resetFailed, restartUnit, startUnit, stopUnit, type JobResult } from './manager.js';
import { callsLog, logFile, serviceDirFromEnv, SERVICE_DIR_ENV } from './paths.js';
import { statusText, unitProperties } from './properties.js';
import { isOwnedBySupervisor, readState } from './state.js';
import { tailLines } from './log-tail.js';
import { mangleUnitName, readUnit } from './units.js';

/** systemd's exit codes (LSB): 1 failure, 3 not running, 4 no such unit (status), 5 not installed */
const EXIT_FAILURE = 1;
const EXIT_NOT_RUNNING = 3;
const EXIT_NO_SUCH_UNIT = 4;
const EXIT_NOT_INSTALLED = 5;

interface Options {
  properties: string[];
  value: boolean;
  quiet: boolean;
  all: boolean;
  signal: string;
  whom: 'main' | 'all';
  lines: number;
  plain: boolean;
  legend: boolean;
  positional: string[];
}

class UsageError extends Error {}

const IGNORED_FLAGS = new Set(['--user', '--system', '--no-pager', '--no-block', '--no-ask-password', '--full', '-l', '--no-reload', '--now', '--force', '-f', '--show-types', '--no-warn', '--wait']);
const WITH_VALUE = new Map<string, keyof Options | null>([
  ['-p', 'properties'], ['--property', 'properties'], ['-P', 'properties'],
  ['-s', 'signal'], ['--signal', 'signal'], ['--kill-whom', 'whom'], ['--kill-who', 'whom'],
  ['-n', 'lines'], ['--lines', 'lines'], ['-t', null], ['--type', null], ['--state', null], ['-o', null], ['--output', null], ['-H', null], ['--host', null], ['-M', null], ['--machine', null],
]);

function parseArgs(argv: string[]): Options {
  const o: Options = { properties: [], value: false, quiet: false, all: false, signal: 'SIGTERM', whom: 'all', lines: 10, plain: false, legend: true, positional: [] };
  const set = (key: keyof Options | null, flag: string, value: string) => {
    if (key === 'properties') {
      o.properties.push(...value.split(',').filter(Boolean));
      if (flag === '-P') o.value = true;
    } else if (key === 'signal') o.signal = value;
    else if (key === 'whom') {
      if (value !== 'main' && value !== 'all' && value !== 'control') throw new UsageError(`Invalid --kill-whom= argument: ${value}`);
      o.whom = value === 'main' ? 'main' : 'all';
    } else if (key === 'lines') o.lines = Number.parseInt(value, 10) || 0;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      o.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      o.positional.push(a);
      continue;
    }
    if (IGNORED_FLAGS.has(a)) continue;
    if (a === '-q' || a === '--quiet') o.quiet = true;
    else if (a === '--value') o.value = true;
    else if (a === '-a' || a === '--all') o.all = true;
    else if (a === '--plain') o.plain = true;
    else if (a === '--no-legend') o.legend = false;
    else if (a.startsWith('--') && a.includes('=')) {
      const flag = a.slice(0, a.indexOf('='));
      if (!WITH_VALUE.has(flag)) throw new UsageError(`systemctl: unrecognized option '${a}'`);
      set(WITH_VALUE.get(flag)!, flag, a.slice(a.indexOf('=') + 1));
    } else if (WITH_VALUE.has(a)) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`systemctl: option '${a}' requires an argument`);
      set(WITH_VALUE.get(a)!, a, value);
    } else if (/^-[pPsnt]./.test(a)) {
      set(WITH_VALUE.get(a.slice(0, 2))!, a.slice(0, 2), a.slice(2));
    } else if (a.startsWith('--')) throw new UsageError(`systemctl: unrecognized option '${a}'`);
    else throw new UsageError(`systemctl: invalid option -- '${a.slice(1)}'`);
  }
  return o;
}

/** systemctl's reason for a failed job, keyed by the unit's Result. */
const JOB_FAILURE_REASONS: Record<string, string> = {
  'exit-code': 'the control process exited with error code',
  signal: 'a fatal signal was delivered to the control process',
  'core-dump': 'a fatal signal was delivered causing the control process to dump core',
  timeout: 'a timeout was exceeded',
  'start-limit-hit': 'start of the service was attempted too often',
  resources: 'of unavailable resources or another system error',
};

class Output {
  code = 0;
  out: string[] = [];
  err: string[] = [];
  fail(code: number, message?: string): void {
    if (message) this.err.push(message);
    if (!this.code) this.code = code;
  }
}

function unitArgs(o: Options, out: Output): string[] {
  return o.positional.slice(1).map((raw) => {
    const m = mangleUnitName(raw);
    if (m.escapedFrom !== undefined) out.err.push(`Invalid unit name "${m.escapedFrom}" escaped as "${m.name}" (maybe you should use systemd-escape?).`);
    return m.name;
  });
}

function reportJob(verb: string, unit: string, r: JobResult, out: Output): void {
  if (r.ok) return;
  if (r.reason === 'not-loaded') {
    out.fail(EXIT_NOT_INSTALLED, `Failed to ${verb} ${unit}: Unit ${unit} ${verb === 'stop' ? 'not loaded' : 'not found'}.`);
    return;
  }
  const lines = [`Job for ${unit} failed because ${JOB_FAILURE_REASONS[r.result] ?? 'the service failed'}.`, `See "systemctl status ${unit}" and "journalctl -xeu ${unit}" for details.`];
  if (r.result === 'start-limit-hit') lines.push(`To force a start use "systemctl reset-failed ${unit}"`, `followed by "systemctl start ${unit}" again.`);
  out.fail(EXIT_FAILURE, lines.join('\n'));
}

function parseSignal(s: string): NodeJS.Signals | number | null {
  if (/^\d+$/.test(s)) return Number(s);
  const name = (s.startsWith('SIG') ? s : `SIG${s}`).toUpperCase() as NodeJS.Signals;
  return name in constants.signals ? name : null;
}

/** A unit systemd would have garbage-collected: inactive and not failed. */
function looksUnloaded(dir: string, unit: string): boolean {
  const s = currentState(dir, unit);
  return s.activeState === 'inactive';
}

async function run(dir: string, argv: string[], out: Output): Promise<void> {
  const o = parseArgs(argv);
  const verb = o.positional[0] ?? 'list-units';
  const units = unitArgs(o, out);
  const needUnits = () => {
    if (!units.length) throw new UsageError('Too few arguments.');
  };
  switch (verb) {
    case 'start':
    case 'stop':
    case 'restart':
    case 'try-restart':
    case 'reload-or-restart': {
      needUnits();
      for (const unit of units) {
        if (verb === 'start') reportJob(verb, unit, await startUnit(dir, unit), out);
        else if (verb === 'stop') reportJob(verb, unit, await stopUnit(dir, unit), out);
        else if (verb === 'try-restart' && !isOwnedBySupervisor(currentState(dir, unit))) continue;
        else reportJob('restart', unit, await restartUnit(dir, unit), out);
      }
      return;
    }
    case 'show': {
      const wanted = new Set(o.properties);
      units.forEach((unit, i) => {
        if (i > 0) out.out.push('');
        for (const [k, v] of unitProperties(unit, readUnit(dir, unit), currentState(dir, unit))) {
          if (wanted.size && !wanted.has(k)) continue;
          out.out.push(o.value ? v : `${k}=${v}`);
        }
      });
      return;
    }
    case 'is-active':
    case 'is-failed': {
      needUnits();
      let any = false;
      for (const unit of units) {
        const s = currentState(dir, unit).activeState;
        if (verb === 'is-active' ? s === 'active' : s === 'failed') any = true;
        if (!o.quiet) out.out.push(s);
      }
      if (!any) out.fail(verb === 'is-active' ? EXIT_NOT_RUNNING : EXIT_FAILURE);
      return;
    }
    case 'status': {
      units.forEach((unit, i) => {
        const def = readUnit(dir, unit);
        if (!def) {
          out.fail(EXIT_NO_SUCH_UNIT, `Unit ${unit} could not be found.`);
          return;
        }
        const state = currentState(dir, unit);
        if (i > 0) out.out.push('');
        out.out.push(statusText(unit, def, state));
        const journal = tailLines(logFile(dir, unit), o.lines) ?? [];
        if (journal.length) out.out.push('', ...journal);
        if (state.activeState !== 'active') out.fail(EXIT_NOT_RUNNING);
      });
      return;
    }
    case 'kill': {
      needUnits();
      const signal = parseSignal(o.signal);
      if (signal === null) throw new UsageError(`Failed to parse signal string ${o.signal}.`);
      for (const unit of units) {
        if (!readUnit(dir, unit) || looksUnloaded(dir, unit)) out.fail(EXIT_FAILURE, `Failed to kill unit ${unit}: Unit ${unit} not loaded.`);
        else killUnit(dir, unit, signal, o.whom);
      }
      return;
    }
    case 'reset-failed': {
      const targets = units.length ? units : listUnitNames(dir).filter((u) => readState(dir, u).activeState === 'failed');
      for (const unit of targets) {
        if (!readUnit(dir, unit) || looksUnloaded(dir, unit)) out.fail(EXIT_FAILURE, `Failed to reset failed state of unit ${unit}: Unit ${unit} not loaded.`);
        else await resetFailed(dir, unit);
      }
      return;
    }
    case 'daemon-reload':
    case 'daemon-reexec':
      return; // unit files are read on every job
    case 'cat': {
      needUnits();
      for (const unit of units) {
        const def = readUnit(dir, unit);
        if (!def) out.fail(EXIT_FAILURE, `No files found for ${unit}.`);
        else out.out.push(`# ${def.path}`, readFileSync(def.path, 'utf8').trimEnd());
      }
      return;
    }
    case 'list-units':
      listUnits(dir, o, units, out);
      return;
    default:
      throw new UsageError(`Unknown command verb ${verb}.`);
  }
}

function listUnits(dir: string, o: Options, patterns: string[], out: Output): void {
  const matchers = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  const rows = listUnitNames(dir)
    .filter((u) => !matchers.length || matchers.some((m) => m.test(u)))
    .map((u) => ({ unit: u, def: readUnit(dir, u), state: currentState(dir, u) }))
    .filter((r) => o.all || r.state.activeState !== 'inactive')
    .map((r) => [r.state.activeState === 'failed' ? '●' : ' ', r.unit, 'loaded', r.state.activeState, r.state.subState, r.def?.description ?? r.unit] as const);
  const widths = [1, 2, 3, 4].map((i) => Math.max(['', 'UNIT', 'LOAD', 'ACTIVE', 'SUB'][i]!.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]) => {
    const cells = r.slice(1).map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join(' ');
    return (o.plain ? cells : `${r[0]} ${cells}`).trimEnd();
  };
  if (o.legend) out.out.push(fmt([' ', 'UNIT', 'LOAD', 'ACTIVE', 'SUB', 'DESCRIPTION']));
  for (const r of rows) out.out.push(fmt(r));
  if (o.legend) {
    out.out.push('', 'LOAD   = Reflects whether the unit definition was properly loaded.', 'ACTIVE = The high-level unit activation state, i.e. generalization of SUB.', 'SUB    = The low-level unit activation state, values depend on unit type.');
    out.out.push(`${rows.length} loaded units listed.${o.all ? '' : ' Pass --all to see loaded but inactive units, too.'}`, "To show all installed unit files use 'systemctl list-unit-files'.");
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const dir = serviceDirFromEnv();
  if (!dir) {
    process.stderr.write(`systemctl (llm-health stand-in): ${SERVICE_DIR_ENV} is not set; it names the stand-in's state directory\n`);
    return EXIT_FAILURE;
  }
  mkdirSync(dir, { recursive: true });
  appendFileSync(callsLog(dir), `${JSON.stringify(argv)}\n`);
  const out = new Output();
  try {
    await run(dir, argv, out);
  } catch (err) {
    out.fail(EXIT_FAILURE, err instanceof UsageError ? err.message : `systemctl (llm-health stand-in): ${(err as Error).stack ?? String(err)}`);
  }
  if (out.out.length) process.stdout.write(`${out.out.join('\n')}\n`);
  if (out.err.length) process.stderr.write(`${out.err.join('\n')}\n`);
  return out.code;
}

process.exitCode = await main();
