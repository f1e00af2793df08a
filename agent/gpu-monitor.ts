import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { GpuConfig } from '../shared/config/agent-config.js';
import type { EventLog } from './events.js';
import { createGpuReader, gpuProblems, type GpuReading } from './gpu/nvidia-smi.js';

/**
 * Reads GPUs on an interval and reports problems as `gpu_warning` events, once per change
 * of the problem set (a GPU at 90 °C for an hour is one event, not 120). No nvidia-smi means
 * no GPU data, silently (docs/states-and-alerts.md).
 */
export class GpuMonitor {
  private timer: TimerHandle | undefined;
  private running = false;
  private latest: { at: number; gpus: GpuReading[] } | null = null;
  private available: boolean | null = null;
  private lastProblems = '';
  private readonly reader;

  constructor(
    private readonly cfg: GpuConfig,
    private readonly deps: { clock: Clock; logger: Logger; events: EventLog },
  ) {
    this.reader = createGpuReader({ command: cfg.command, timeoutMs: Math.min(10_000, cfg.interval) });
  }

  /** The latest readings and when they were taken (epoch ms); null without GPU data. */
  get reading(): { at: number; gpus: GpuReading[] } | null {
    return this.latest;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.deps.clock.clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = this.deps.clock.setTimeout(() => void this.poll().finally(() => this.schedule(this.cfg.interval)), ms);
  }

  async poll(): Promise<void> {
    let gpus: GpuReading[] | null;
    try {
      gpus = await this.reader.read();
    } catch (err) {
      const message = (err as Error).message;
      this.deps.logger.warn({ err: message }, 'reading GPUs failed');
      // a hanging or failing nvidia-smi is itself a GPU symptom (a GPU fallen off the bus
      // makes it hang): report it once, like any other problem set
      const key = `nvidia-smi:${(err as { code?: string }).code ?? 'failed'}`;
      if (key !== this.lastProblems) {
        this.lastProblems = key;
        this.deps.events.emit({ type: 'gpu_warning', reason: `nvidia-smi failed: ${message}`, data: { problems: [{ kind: 'nvidia-smi', detail: message }] } });
      }
      return;
    }
    if (gpus === null) {
      if (this.available !== false) this.deps.logger.info(this.cfg.enabled === true ? 'gpu.enabled is true but nvidia-smi is not installed: no GPU data' : 'nvidia-smi not found: no GPU data');
      this.available = false;
      this.latest = null;
      return;
    }
    this.available = true;
    this.latest = { at: this.deps.clock.now(), gpus };
    const problems = gpus.flatMap((g) => gpuProblems(g, this.cfg));
    const key = problems.map((p) => `${p.uuid}:${p.kind}`).sort().join('|');
    if (key !== this.lastProblems) {
      this.lastProblems = key;
      if (problems.length) {
        this.deps.events.emit({ type: 'gpu_warning', reason: problems.map((p) => p.detail).join('; '), data: { problems, gpus } });
      } else {
        this.deps.events.emit({ type: 'gpu_warning', reason: 'GPU problems cleared', data: { problems: [], gpus, cleared: true } });
      }
    }
  }
}
