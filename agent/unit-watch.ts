import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { createPidProbe, type PidProbe } from './pid-probe.js';
import { unitLooksCrashed, type UnitControl, type UnitProperties } from './unit-control.js';

/** Routine reconcile with systemd; the PID watch covers the urgent case in between. */
const SHOW_EVERY_MS = 60_000;

/**
 * What a monitor knows of its service's unit between rounds: the main PID, watched with one
 * cheap /proc read so a crash is noticed within a second instead of at the next probe, and
 * systemd's view, asked when it matters (routinely once a minute, at once when the PID
 * vanished or while the service is coming up).
 */
export class UnitWatch {
  private mainPid = 0;
  private lastShowAt = 0;
  /** the watched PID that vanished: systemd is asked what runs now (a crash, or a restart by someone else) */
  private vanishedPid = 0;
  private readonly pidAlive: (pid: number) => boolean;
  private pidProbe: PidProbe | undefined;
  /** properties read during the current cycle (crash evidence), reused as restart evidence */
  cycleProps: UnitProperties | null = null;

  constructor(
    readonly unit: string,
    private readonly units: UnitControl,
    private readonly clock: Clock,
    private readonly logger: Logger,
    pidAlive?: (pid: number) => boolean,
  ) {
    if (pidAlive) this.pidAlive = pidAlive;
    else {
      this.pidProbe = createPidProbe();
      this.pidAlive = (pid) => this.pidProbe!.alive(pid);
    }
  }

  /** True once when the watched main process has gone since the last look. */
  pidVanished(): boolean {
    const pid = this.mainPid;
    if (pid <= 0 || this.pidAlive(pid)) return false;
    this.logger.debug({ pid }, 'main process vanished; probing now');
    this.vanishedPid = pid;
    this.mainPid = 0;
    return true;
  }

  async show(): Promise<UnitProperties | null> {
    try {
      const p = await this.units.show(this.unit);
      this.lastShowAt = this.clock.now();
      return p;
    } catch (err) {
      this.logger.warn({ err }, 'systemctl show failed');
      return null;
    }
  }

  /**
   * Learns the unit's main PID when due (`urgent`: the service is coming up or stuck). Returns
   * the PIDs when the main process changed under the agent: a restart by someone else.
   */
  async reconcile(urgent: boolean): Promise<{ from: number; to: number } | null> {
    const forced = this.vanishedPid > 0;
    if (!urgent && !forced && this.clock.now() - this.lastShowAt < SHOW_EVERY_MS) return null;
    const before = forced ? this.vanishedPid : this.mainPid;
    this.vanishedPid = 0;
    const p = await this.show();
    if (!p) return null;
    this.mainPid = p.mainPid;
    return before > 0 && p.mainPid > 0 && p.mainPid !== before ? { from: before, to: p.mainPid } : null;
  }

  /** Asked after a refused connection: is the unit down, or its main process gone? */
  async crashEvidence(): Promise<boolean> {
    const p = await this.show();
    this.cycleProps = p;
    if (p) this.mainPid = p.mainPid;
    return unitLooksCrashed(p) || (p !== null && p.mainPid > 0 && !this.pidAlive(p.mainPid));
  }

  /** After a restart: the process systemd started is the one to watch. */
  restarted(props: UnitProperties | undefined): void {
    if (props) this.mainPid = props.mainPid;
  }

  close(): void {
    this.pidProbe?.close();
  }
}
