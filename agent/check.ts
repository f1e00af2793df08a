import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { AgentConfig, ServiceConfig } from '../shared/config/agent-config.js';
import { classifyRound } from './state/classify.js';
import type { Verdict } from './state/types.js';
import type { ProbeRuntime } from './wiring.js';
import { unitLooksCrashed, type UnitControl, type UnitProperties } from './unit-control.js';
import { restartUnit, restartWentThrough } from './restart/restart-unit.js';

/** One line of `llm-health check --json` (docs/cli.md). */
export interface CheckedService {
  name: string;
  kind: string;
  state: 'healthy' | 'degraded' | 'starting' | 'down';
  reason: string;
  url: string;
  servedBy: string | null;
  latencyMs: number | null;
  restarted: boolean;
  restartOutcome: 'succeeded' | 'failed' | null;
}

export interface CheckReport {
  ok: boolean;
  services: CheckedService[];
}

export interface CheckOptions {
  restart: boolean;
  /** after restarts, wait up to this long for every service to be healthy again (0: no wait) */
  waitMs: number;
  clock: Clock;
  logger: Logger;
  probes: ProbeRuntime;
  units?: UnitControl;
}

const WAIT_POLL_MS = 1000;

/**
 * The seed-compatible one-shot (docs/cli.md): probe each service once with its retries, restart
 * failed units, optionally wait for them to come back, report. Runs the same probes and
 * classification as the daemon, without its memory (no grace, no flap window): a cron job
 * or timer provides the cadence.
 */
export async function runCheck(config: AgentConfig, opts: CheckOptions): Promise<CheckReport> {
  const results = await Promise.all(config.services.map((s) => checkOne(s, opts)));
  if (opts.waitMs > 0 && results.some((r) => !passing(r))) {
    const deadline = opts.clock.now() + opts.waitMs;
    for (const [i, service] of config.services.entries()) {
      const first = results[i]!;
      if (passing(first)) continue;
      // once a service passes we stop probing it; restarts are not repeated while waiting
      while (opts.clock.now() < deadline) {
        await opts.clock.sleep(Math.min(WAIT_POLL_MS, Math.max(0, deadline - opts.clock.now())));
        const again = await probeOnce(service, opts, false);
        if (again.state === 'healthy' || again.state === 'degraded') {
          results[i] = { ...again, restarted: first.restarted, restartOutcome: first.restartOutcome, reason: first.restarted ? `back after restart: ${again.reason}` : again.reason };
          break;
        }
        results[i] = { ...first, reason: `${first.reason}; still ${again.state}: ${again.reason}` };
      }
    }
  }
  return { ok: results.every(passing), services: results };
}

function passing(s: CheckedService): boolean {
  return s.state === 'healthy' || s.state === 'degraded';
}

async function probeOnce(service: ServiceConfig, opts: CheckOptions, withEvidence: boolean): Promise<CheckedService> {
  const rt = opts.probes.forService(service);
  let crash = false;
  const result = await rt.runRound({
    crashEvidence: async () => {
      if (!withEvidence || !service.unit || !opts.units) return false;
      try {
        crash = unitLooksCrashed(await opts.units.show(service.unit));
      } catch {
        crash = false;
      }
      return crash;
    },
    onAttemptFailed: (a) => opts.logger.info({ service: service.name, attempt: a }, `attempt failed: ${a.detail}`),
  });
  // one-shot has no memory of when the server started: loading is "starting", not dead
  const verdict: Verdict = classifyRound(result, { inGrace: result.outcome === 'loading', crashEvidence: crash, stalledForMs: 0, stallAfter: service.stallAfter, slowAfter: service.slowAfter });
  const base = { name: service.name, kind: service.kind, url: service.url, servedBy: result.servedBy ?? null, latencyMs: result.outcome === 'ok' || result.outcome === 'busy' ? Math.round(result.latencyMs) : null, restarted: false, restartOutcome: null };
  switch (verdict.kind) {
    case 'good':
      return { ...base, state: verdict.degraded ? 'degraded' : 'healthy', reason: verdict.degraded ?? 'ready' };
    case 'busy':
      return { ...base, state: 'degraded', reason: verdict.reason };
    case 'starting':
      return { ...base, state: 'starting', reason: verdict.reason };
    case 'failed':
      return { ...base, state: 'down', reason: verdict.reason };
  }
}

async function checkOne(service: ServiceConfig, opts: CheckOptions): Promise<CheckedService> {
  const checked = await probeOnce(service, opts, true);
  opts.logger.info({ service: service.name, state: checked.state, reason: checked.reason }, `${service.name}: ${checked.state}: ${checked.reason}`);
  if (checked.state !== 'down' || !opts.restart || !service.unit || !opts.units) return checked;
  const unit = service.unit;
  let evidence: Record<string, unknown> = {};
  try {
    evidence = await opts.units.captureEvidence(unit);
  } catch (err) {
    evidence = { error: (err as Error).message };
  }
  opts.logger.warn({ service: service.name, unit, evidence }, `restarting ${unit}: ${checked.reason}`);
  const outcome = await restartUnit(opts.units, unit, (evidence.properties as UnitProperties | null | undefined) ?? undefined);
  const ok = restartWentThrough(outcome);
  const out = outcome.command;
  opts.logger[ok ? 'info' : 'error'](
    { service: service.name, unit, outcome: outcome.kind, exitCode: out?.exitCode, stderr: out?.stderr, timedOut: out?.timedOut },
    outcome.reason,
  );
  if (outcome.kind === 'refused') return { ...checked, restarted: false, restartOutcome: 'failed', reason: `${checked.reason}; ${outcome.reason}` };
  return { ...checked, restarted: true, restartOutcome: ok ? 'succeeded' : 'failed', reason: `${checked.reason}; ${ok ? `restarted ${unit}` : outcome.reason}` };
}

/**
 * One table cell on one line: systemctl and journald answer in several lines ("Failed to
 * restart x.service: Access denied" + "See system logs and ..."), which would break the row.
 */
export function oneLine(text: string): string {
  return text
    .trim()
    .replace(/\s*[\r\n]+\s*/g, ' / ')
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** Human summary, one line per service, like the seed script's log. */
export function formatCheckReport(report: CheckReport): string {
  const rows = report.services.map((s) => [
    s.name,
    s.kind,
    s.state,
    s.latencyMs === null ? '-' : `${s.latencyMs}ms`,
    s.restarted ? `restart ${s.restartOutcome}` : s.restartOutcome === 'failed' ? 'restart refused' : '-',
    s.servedBy && s.servedBy !== s.url ? `${s.url} (served by ${s.servedBy})` : s.url,
    s.reason,
  ].map(oneLine));
  const head = ['SERVICE', 'KIND', 'STATE', 'LATENCY', 'RESTART', 'URL', 'REASON'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line), report.ok ? 'OK: all services healthy' : 'FAIL: some services are not healthy'].join('\n');
}
