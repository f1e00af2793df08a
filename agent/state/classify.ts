import { formatDuration } from '../../shared/duration.js';
import type { RoundResult } from '../probes/types.js';
import type { Verdict } from './types.js';

export interface ClassifyContext {
  /** inside the startup grace (agent start, our restart, or an outside restart) */
  inGrace: boolean;
  /** hard evidence the process is gone: unit not active or main process missing */
  crashEvidence: boolean;
  /** how long metrics have shown queued work with no progress (0 when not stalled) */
  stalledForMs: number;
  stallAfter: number;
  /** deep probes slower than this make the service degraded (undefined: never) */
  slowAfter?: number;
}

/**
 * What a probe round means (docs/states-and-alerts.md "evidence"): crashes are final at once, loading inside
 * the grace is starting, busy is never a failure, and a stall seen in the metrics is a
 * failure even while /health answers 200.
 */
export function classifyRound(r: RoundResult, ctx: ClassifyContext): Verdict {
  if (ctx.stalledForMs >= ctx.stallAfter && r.metrics) {
    const m = r.metrics;
    return {
      kind: 'failed',
      crash: false,
      reason: `stalled: ${m.running} running, ${m.waiting} waiting, no progress for ${formatDuration(ctx.stalledForMs)}`,
    };
  }
  switch (r.outcome) {
    case 'ok': {
      if (!r.primaryOk && r.servedBy) return { kind: 'good', degraded: `served by fallback ${r.servedBy}` };
      if (ctx.slowAfter !== undefined && r.deep && r.deep.outcome === 'ok' && r.deep.latencyMs > ctx.slowAfter) {
        return { kind: 'good', degraded: `slow: deep probe took ${formatDuration(r.deep.latencyMs)}` };
      }
      return { kind: 'good' };
    }
    case 'busy':
      return { kind: 'busy', reason: `busy: ${r.detail}` };
    case 'model_missing':
      return { kind: 'good', degraded: `model not listed: ${r.detail}` };
    case 'mismatch':
      // the config asks what the server cannot do: a restart cannot fix it, the operator can
      return { kind: 'good', degraded: `configuration mismatch: ${r.detail}` };
    case 'loading':
      return ctx.inGrace ? { kind: 'starting', reason: `loading: ${r.detail}` } : { kind: 'failed', crash: false, reason: `still loading after the startup grace: ${r.detail}` };
    case 'refused':
      if (ctx.crashEvidence) return { kind: 'failed', crash: true, reason: `crashed: ${r.detail}; unit not running` };
      return ctx.inGrace ? { kind: 'starting', reason: `port not open yet: ${r.detail}` } : { kind: 'failed', crash: false, reason: r.detail };
    default:
      return { kind: 'failed', crash: false, reason: r.attempts > 1 ? `${r.detail} (${r.attempts} attempts)` : r.detail };
  }
}
