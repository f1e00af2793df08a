/**
 * The demo's chaos loop (README.md): every so often it breaks one emulated server the way real
 * ones break, rotating over
 *   crash            SIGKILL the unit's main process
 *   hang             SIGSTOP it for real (its port still accepts connections); SIGCONT the old
 *                    pid once the agent has restarted the unit, so nothing lingers stopped
 *   stuck loading    a llama.cpp server answers 503 "Loading model" until it is restarted
 *   cannot generate  /health 200 but generation hangs; only the deep probe can tell
 *   primary down     qwen-vl's primary dies while its fallback serves: degraded, no restart;
 *                    the demo brings the primary back later, as an operator would
 * and prints one `[chaos]` line per injection. It only breaks services that are healthy, and
 * at most one thing per host at a time, so every failure can be watched to its recovery.
 */
import type { FleetView } from '../coordinator/fleet/types.js';
import { formatDuration } from '../shared/duration.js';
import { setRemoteMode } from './emulator/client.js';
import { startUnit } from './service-manager/manager.js';
import { HOST_IDS, isDemoEmulator, mainPid, type DemoService, type FleetLayout, type ServiceName } from './fleet.js';

export type FailureKind = 'crash' | 'hang' | 'stuck_loading' | 'cannot_generate' | 'primary_down';
export const ROTATION: readonly FailureKind[] = ['crash', 'hang', 'stuck_loading', 'cannot_generate', 'primary_down'];

const TICK_MS = 500;
/** the first failure comes this soon after the whole fleet is healthy (or `every`, if shorter) */
const FIRST_DELAY_MS = 5000;
/** start anyway when the fleet has not become all healthy within this */
const HEALTHY_WAIT_MS = 60_000;
/** an injection nobody recovered from is undone after this */
const GIVE_UP_MS = 120_000;

export interface ChaosOptions {
  layout: FleetLayout;
  view: () => FleetView;
  print: (line: string) => void;
  everyMs: number;
  paint?: (text: string) => string;
}

interface Injection {
  kind: FailureKind;
  service: DemoService;
  at: number;
  /** the service was seen not healthy since the injection */
  sawTrouble: boolean;
  /** hang: the pid we stopped, until it has been continued */
  stoppedPid?: number;
  /** primary_down: when to bring the primary back, and whether that happened */
  restoreAt?: number;
  restored?: boolean;
}

export class Chaos {
  private readonly active = new Map<string, Injection>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private next = 0;
  private nextAt: number | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly opts: ChaosOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  /** Stops injecting and continues every process it stopped. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const inj of this.active.values()) this.cont(inj, false);
  }

  /** Everything the demo stopped with SIGSTOP and has not continued yet (for last-resort cleanup). */
  stoppedPids(): number[] {
    return [...this.active.values()].flatMap((i) => (i.stoppedPid ? [i.stoppedPid] : []));
  }

  private say(text: string): void {
    const tag = this.opts.paint ? this.opts.paint('[chaos]') : '[chaos]';
    this.opts.print(`${tag} ${text}`);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const view = this.opts.view();
      await this.follow(view);
      const now = Date.now();
      if (this.nextAt === null) {
        const all = allHealthy(view);
        if (!all && now - this.startedAt < HEALTHY_WAIT_MS) return;
        const first = Math.min(FIRST_DELAY_MS, this.opts.everyMs);
        this.say(`${all ? 'fleet healthy' : 'fleet not all healthy yet, starting anyway'}: first failure in ${formatDuration(first)}, then one every ${formatDuration(this.opts.everyMs)}`);
        this.nextAt = now + first;
        return;
      }
      if (now < this.nextAt || this.stopped) return;
      const done = await this.injectNext(view);
      this.nextAt = Date.now() + (done ? this.opts.everyMs : 1000);
    } catch (err) {
      this.say(`error: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** Follows each open injection to its recovery, and undoes what the agent will not. */
  private async follow(view: FleetView): Promise<void> {
    const now = Date.now();
    for (const [key, inj] of this.active) {
      const s = inj.service;
      const state = serviceState(view, s.host, s.name);
      if (state !== 'healthy') inj.sawTrouble = true;
      if (inj.stoppedPid && mainPid(this.opts.layout, s.primary.unit) !== inj.stoppedPid) this.cont(inj, true);
      if (inj.kind === 'primary_down' && !inj.restored && inj.restoreAt !== undefined && now >= inj.restoreAt) await this.restorePrimary(inj);
      const recovered = inj.sawTrouble && state === 'healthy' && (inj.kind !== 'primary_down' || inj.restored);
      if (recovered) {
        this.active.delete(key);
        continue;
      }
      if (now - inj.at > GIVE_UP_MS) {
        this.say(`${key}: not recovered after ${formatDuration(GIVE_UP_MS)}; undoing the ${inj.kind.replace('_', ' ')}`);
        this.cont(inj, false);
        if (inj.kind === 'primary_down' && !inj.restored) await this.restorePrimary(inj);
        if (inj.kind === 'stuck_loading' || inj.kind === 'cannot_generate') await setRemoteMode(s.primary.url, 'ok').catch(() => undefined);
        this.active.delete(key);
      }
    }
  }

  private cont(inj: Injection, announce: boolean): void {
    const pid = inj.stoppedPid;
    if (!pid) return;
    inj.stoppedPid = undefined;
    if (!isDemoEmulator(pid, this.opts.layout.ports)) return; // the restart already stopped it for good
    try {
      process.kill(pid, 'SIGCONT');
      if (announce) this.say(`${inj.service.host}/${inj.service.name}: SIGCONT old pid ${pid} (the unit runs a new process now)`);
    } catch {
      // gone meanwhile
    }
  }

  private async restorePrimary(inj: Injection): Promise<void> {
    inj.restored = true;
    const unit = inj.service.primary.unit;
    const r = await startUnit(this.opts.layout.serviceDir, unit);
    this.say(`${inj.service.host}/${inj.service.name}: primary back (systemctl start ${unit}${r.ok ? '' : ` failed: ${'result' in r ? r.result : r.reason}`})`);
  }

  private async injectNext(view: FleetView): Promise<boolean> {
    for (let k = 0; k < ROTATION.length; k++) {
      const index = this.next + k;
      const kind = ROTATION[index % ROTATION.length]!;
      const round = Math.floor(index / ROTATION.length);
      const name = targetService(kind, round);
      for (let h = 0; h < HOST_IDS.length; h++) {
        const hostId = HOST_IDS[(index + h) % HOST_IDS.length]!;
        if ([...this.active.values()].some((i) => i.service.host === hostId)) continue;
        const host = view.hosts.find((x) => x.id === hostId);
        if (!host?.connected || host.services.find((x) => x.name === name)?.state !== 'healthy') continue;
        const service = this.opts.layout.hosts.find((x) => x.id === hostId)?.services.find((x) => x.name === name);
        if (!service) continue;
        let injected = false;
        try {
          injected = await this.inject(kind, service);
        } catch {
          continue; // e.g. the server restarts right now: try another host
        }
        if (injected) {
          this.next = index + 1;
          return true;
        }
      }
    }
    return false;
  }

  private async inject(kind: FailureKind, s: DemoService): Promise<boolean> {
    const who = `${s.host}/${s.name}`;
    const inj: Injection = { kind, service: s, at: Date.now(), sawTrouble: false };
    const pid = mainPid(this.opts.layout, s.primary.unit);
    switch (kind) {
      case 'crash':
        if (!pid || !isDemoEmulator(pid, this.opts.layout.ports)) return false;
        process.kill(pid, 'SIGKILL');
        this.say(`${who}: SIGKILL pid ${pid} (crash: the server process dies)`);
        break;
      case 'hang':
        if (!pid || !isDemoEmulator(pid, this.opts.layout.ports)) return false;
        process.kill(pid, 'SIGSTOP');
        inj.stoppedPid = pid;
        this.say(`${who}: SIGSTOP pid ${pid} (hang: the process is frozen, its port still accepts connections)`);
        break;
      case 'stuck_loading':
        await setRemoteMode(s.primary.url, 'loading');
        this.say(`${who}: stuck loading (POST /__emulator/mode {"mode":"loading"}: 503 "Loading model" until restarted)`);
        break;
      case 'cannot_generate':
        await setRemoteMode(s.primary.url, 'gen_hang');
        this.say(`${who}: healthy but cannot generate (gen_hang: /health answers 200, generation hangs; the deep probe will tell)`);
        break;
      case 'primary_down': {
        if (!pid || !isDemoEmulator(pid, this.opts.layout.ports)) return false;
        process.kill(pid, 'SIGKILL');
        const back = Math.min(60_000, Math.max(15_000, Math.round(this.opts.everyMs * 1.5)));
        inj.restoreAt = Date.now() + back;
        this.say(`${who}: primary down (SIGKILL pid ${pid}); fallback ${s.fallback?.url ?? '?'} serves: degraded, no restart; primary back in ${formatDuration(back)}`);
        break;
      }
    }
    this.active.set(who, inj);
    return true;
  }
}

/** Which service each kind of failure hits; crash and hang alternate between two servers. */
export function targetService(kind: FailureKind, round: number): ServiceName {
  switch (kind) {
    case 'crash':
      return round % 2 === 0 ? 'llama-vision' : 'ollama';
    case 'hang':
      return round % 2 === 0 ? 'ollama' : 'llama-vision';
    case 'stuck_loading': // llama.cpp's 503 "Loading model"
    case 'cannot_generate': // the service with a deep probe
      return 'llama-vision';
    case 'primary_down':
      return 'qwen-vl';
  }
}

function serviceState(view: FleetView, host: string, service: string): string | undefined {
  return view.hosts.find((h) => h.id === host)?.services.find((s) => s.name === service)?.state;
}

export function allHealthy(view: FleetView): boolean {
  return view.hosts.length === HOST_IDS.length && view.hosts.every((h) => h.connected && h.services.length > 0 && h.services.every((s) => s.state === 'healthy'));
}
