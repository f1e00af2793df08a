import { formatDuration } from '../../shared/duration.js';
import type { MachineConfig, MachineInput, ServiceState, ServiceStatus, StepResult } from './types.js';

/**
 * The per-service state machine (docs/states-and-alerts.md), pure: it takes the current status, one input and
 * "now", and returns the new status, the transitions to report as events and the actions
 * (restarts) the caller must run. No clock reads, no I/O.
 */

/** A service as the agent first sees it: its grace runs from the agent's start (docs/states-and-alerts.md). */
export function initialStatus(now: number, cfg: MachineConfig): ServiceStatus {
  return {
    state: 'unknown',
    reason: 'agent started',
    since: now,
    graceUntil: now + cfg.startupGrace,
    recovering: false,
    goodRounds: 0,
    recentRestarts: [],
    nextRestartAt: null,
    restartCount: 0,
    lastRestartAt: null,
    lastRestartOutcome: null,
  };
}

export function inGrace(status: ServiceStatus, now: number): boolean {
  return status.graceUntil !== null && now < status.graceUntil;
}

class Step {
  readonly result: StepResult;
  constructor(
    status: ServiceStatus,
    readonly now: number,
    readonly cfg: MachineConfig,
  ) {
    this.result = { status: { ...status, recentRestarts: [...status.recentRestarts] }, transitions: [], actions: [], notices: [] };
  }

  get s(): ServiceStatus {
    return this.result.status;
  }

  go(to: ServiceState, reason: string): void {
    const from = this.s.state;
    if (from === to) {
      this.s.reason = reason;
      return;
    }
    this.result.transitions.push({ from, to, reason });
    this.s.state = to;
    this.s.reason = reason;
    this.s.since = this.now;
  }

  /** Down: restart now, wait out the backoff, or give up (flap protection). */
  restartOrWait(reason: string): void {
    const { cfg, now, s } = this;
    if (!cfg.canRestart) return;
    s.recentRestarts = s.recentRestarts.filter((t) => now - t < cfg.window);
    const done = s.recentRestarts.length;
    if (done >= cfg.maxRestarts) {
      s.nextRestartAt = null;
      const why = `${done} automatic restart${done === 1 ? '' : 's'} within ${formatDuration(cfg.window)} did not keep it up (${reason})`;
      this.go('gave_up', why);
      this.result.notices.push({ type: 'gave_up', reason: why, restarts: done });
      return;
    }
    // The first restart is immediate; each further one inside the window waits `backoff`,
    // doubling, capped at the window.
    const due = done === 0 ? now : s.recentRestarts[done - 1]! + Math.min(cfg.backoff * 2 ** (done - 1), cfg.window);
    if (now < due) {
      s.nextRestartAt = due;
      return;
    }
    s.nextRestartAt = null;
    s.recentRestarts.push(now);
    s.restartCount += 1;
    s.lastRestartAt = now;
    this.go('restarting', reason);
    this.result.actions.push({ type: 'restart', reason, attempt: done + 1 });
  }

  fail(reason: string): void {
    this.s.recovering = true;
    this.s.goodRounds = 0;
    if (this.s.state === 'gave_up') {
      this.s.reason = reason;
      return;
    }
    this.go('down', reason);
    this.restartOrWait(reason);
  }

  good(degraded: string | undefined): void {
    const { s, cfg } = this;
    const wasGaveUp = s.state === 'gave_up';
    // After a restart or at agent start, the first ready answer ends the grace; a service
    // that failed without a restart in between must prove itself `recoverAfter` times.
    if (s.recovering && !wasGaveUp && (s.state === 'down' || s.state === 'unhealthy')) {
      s.goodRounds += 1;
      if (s.goodRounds < cfg.recoverAfter) {
        s.reason = `recovering: ${s.goodRounds}/${cfg.recoverAfter} good rounds`;
        return;
      }
    }
    s.recovering = false;
    s.goodRounds = 0;
    s.graceUntil = null;
    s.nextRestartAt = null;
    if (wasGaveUp) s.recentRestarts = [];
    if (degraded) this.go('degraded', degraded);
    else this.go('healthy', wasGaveUp ? 'recovered on its own after automatic restarts stopped' : 'ready');
  }
}

export function step(status: ServiceStatus, input: MachineInput, now: number, cfg: MachineConfig): StepResult {
  const st = new Step(status, now, cfg);
  const s = st.s;
  switch (input.type) {
    case 'round': {
      // a round that raced with a restart says nothing about the new process
      if (s.state === 'restarting') break;
      const v = input.verdict;
      if (v.kind === 'good') st.good(v.degraded);
      else if (v.kind === 'busy') {
        // busy is alive: never a failure, and it ends a grace like any answer does
        s.graceUntil = null;
        if (s.state !== 'gave_up') {
          s.recovering = false;
          st.go('degraded', v.reason);
        }
      } else if (v.kind === 'starting') {
        if (s.state !== 'gave_up') st.go('starting', v.reason);
      } else {
        st.fail(v.reason);
      }
      break;
    }
    case 'attempt_failed':
      // only from healthy: a degraded service (fallback serving, busy) already told its story,
      // and flipping it to unhealthy while its fallback answers would be noise
      if (s.state === 'healthy') st.go('unhealthy', input.reason);
      break;
    case 'restart_finished':
      if (s.state !== 'restarting') break;
      if (input.ok) {
        s.lastRestartOutcome = 'succeeded';
        s.graceUntil = now + cfg.startupGrace;
        s.recovering = false;
        s.goodRounds = 0;
        st.go('starting', input.reason);
      } else {
        s.lastRestartOutcome = 'failed';
        st.go('down', input.reason);
        st.restartOrWait(input.reason);
      }
      break;
    case 'restarted_externally':
      if (s.state === 'restarting') break;
      s.graceUntil = now + cfg.startupGrace;
      s.recovering = false;
      s.goodRounds = 0;
      s.nextRestartAt = null;
      // an operator's restart is the way out of gave_up (docs/states-and-alerts.md)
      s.recentRestarts = [];
      st.go('starting', input.reason);
      break;
    case 'operator_restart':
      s.recentRestarts = [];
      s.nextRestartAt = null;
      s.recovering = false;
      s.goodRounds = 0;
      s.restartCount += 1;
      s.lastRestartAt = now;
      st.go('restarting', input.reason);
      break;
    case 'tick':
      if (s.state === 'down' && s.nextRestartAt !== null && now >= s.nextRestartAt) st.restartOrWait(s.reason);
      break;
  }
  return st.result;
}
