/**
 * `journalctl` for the stand-in: `journalctl -u UNIT|--user-unit UNIT [-n N] [--no-pager] [-o FORMAT]` prints
 * the tail of what the unit's processes (and its supervisor) wrote. The stand-in keeps no
 * timestamps or identifiers, so every output format prints the bare lines, like `-o cat`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { journalCallsLog, logFile, serviceDirFromEnv, SERVICE_DIR_ENV } from './paths.js';
import { tailLines } from './log-tail.js';
import { mangleUnitName } from './units.js';

const IGNORED = new Set(['--no-pager', '-q', '--quiet', '-x', '--catalog', '-e', '--pager-end', '--no-hostname', '--user', '--system', '--all', '-a', '--no-tail']);
const WITH_VALUE = new Set(['-o', '--output', '--since', '-S', '--until', '-U', '-b', '--boot', '-p', '--priority']);
/** journalctl without -n prints everything; this bounds a runaway log all the same */
const NO_LIMIT_LINES = 100_000;

function main(): number {
  const argv = process.argv.slice(2);
  const dir = serviceDirFromEnv();
  if (!dir) {
    process.stderr.write(`journalctl (llm-health stand-in): ${SERVICE_DIR_ENV} is not set; it names the stand-in's state directory\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true });
  appendFileSync(journalCallsLog(dir), `${JSON.stringify(argv)}\n`);
  const units: string[] = [];
  let lines: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (/^-[un]./.test(a) ? a.slice(2) : argv[++i]);
    if (IGNORED.has(a)) continue;
    if (flag === '-u' || flag === '--unit' || flag === '--user-unit' || /^-u./.test(a)) {
      const v = value();
      if (v === undefined) return usage(`option '${a}' requires an argument`);
      units.push(mangleUnitName(v).name);
    } else if (flag === '-n' || flag === '--lines' || /^-n./.test(a)) {
      // `-n` alone means 10, as in journalctl
      const next = inline ?? (/^-n./.test(a) ? a.slice(2) : argv[i + 1]);
      if (next !== undefined && /^\+?\d+$/.test(next)) {
        if (inline === undefined && !/^-n./.test(a)) i++;
        lines = Number.parseInt(next.replace('+', ''), 10);
      } else lines = 10;
    } else if (WITH_VALUE.has(flag)) {
      if (inline === undefined) i++;
    } else if (a.startsWith('-')) return usage(`unrecognized option '${a}'`);
  }
  const out: string[] = [];
  for (const unit of units) out.push(...(tailLines(logFile(dir, unit), lines ?? NO_LIMIT_LINES) ?? []));
  // with several units the real journal interleaves by time; the stand-in has no times, so it keeps the last N overall
  const shown = lines === undefined ? out : out.slice(-lines);
  process.stdout.write(shown.length ? `${shown.join('\n')}\n` : '-- No entries --\n');
  return 0;
}

function usage(message: string): number {
  process.stderr.write(`journalctl: ${message}\n`);
  return 1;
}

process.exitCode = main();
