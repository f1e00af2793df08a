/**
 * PIPELINE ONLY (in-process, no agents, no WebSocket, no SQLite, no HTTP): what our alert
 * pipeline itself costs per alert, to set beside Alertmanager's API → webhook path.
 *
 * A fleet of `hosts` × ceil(alerts / hosts) services is built in the coordinator's own
 * FleetTracker (its reducer; hello + snapshot, every service healthy). Then `alerts` services go down,
 * one `state_changed` event each (distinct services, round-robin over hosts, as the
 * alert-storm's sustained phase sends them), `perEval` events per 100 ms of a fake clock
 * (the pipeline's own coalescing window: perEval × 10 = the simulated rate). Per step:
 *   1. the events go through FleetTracker.apply (timed apart: "fleet reduce", also the real path);
 *   2. AlertPipeline.update + evaluate (rules → alert set → inhibition → grouping), then the
 *      fake clock advances 100 ms, firing group timers: flush, dedup, and the notifier's
 *      work (buildWebhookMessage + JSON.stringify of the Alertmanager v4 body) in `emit`.
 * CPU is process.cpuUsage() around step 2 only; heap is heapUsed after a full GC
 * (--expose-gc) before the stream and after it: (after − before) / alerts. The grouping is
 * the benchmark's (groupBy [alertname], groupWait 1s, groupInterval 10s, repeatInterval 4h,
 * sendResolved); after the stream the clock runs one more groupInterval so the last
 * notification covers every alert.
 *
 * node --expose-gc dist/bench/alerts/pipeline-only.js [--alerts N] [--hosts H] [--per-eval B]
 *   [--order round-robin|host] [--json]
 * (--order host: one host's services fail together, so each evaluation touches one or two
 * hosts; the default round-robin changes every host in every evaluation.)
 */
import { parseArgs } from 'node:util';
import { FakeClock } from '../../shared/clock.js';
import { PROTOCOL_VERSION } from '../../shared/protocol/constants.js';
import type { Event } from '../../shared/protocol/messages.js';
import { AlertPipeline } from '../../coordinator/alerts/pipeline.js';
import type { NotificationLogEntry } from '../../coordinator/alerts/types.js';
import { FleetTracker } from '../../coordinator/fleet/tracker.js';
import { buildWebhookMessage } from '../../coordinator/notify/webhook.js';

export interface PipelineOnlyResult {
  label: string;
  alerts: number;
  hosts: number;
  servicesPerHost: number;
  order: 'round-robin' | 'host';
  perEval: number;
  simulatedRatePerSec: number;
  /** CPU of AlertPipeline update/evaluate + timers (flush, emit, webhook body) */
  pipelineCpuMs: number;
  pipelineCpuUsPerAlert: number;
  /** alerts per CPU-second of the pipeline alone (one core) */
  pipelineAlertsPerCpuSec: number;
  /** the slowest single step (one evaluation of perEval new alerts + its timers) */
  maxStepMs: number;
  /** CPU of FleetTracker.apply for the same events (part of the real path, not of the pipeline) */
  reduceCpuMs: number;
  reduceCpuUsPerEvent: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  heapBytesPerAlert: number;
  rssDeltaBytesPerAlert: number;
  firingAtEnd: number;
  notifications: number;
  lastNotificationFiring: number;
  maxBodyBytes: number;
  bodies: { atMs: number; bytes: number; firing: number; listed: number; truncated: number }[];
  gcExposed: boolean;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export async function runPipelineOnly(opts: { alerts: number; hosts: number; perEval: number; order?: 'round-robin' | 'host' }): Promise<PipelineOnlyResult> {
  const { alerts, hosts, perEval } = opts;
  const byHost = opts.order === 'host';
  const perHost = Math.ceil(alerts / hosts);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const t0 = clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();

  // the fleet, held and reduced as the coordinator does (no listener: the pipeline is driven below)
  const tracker = new FleetTracker(clock, 3600_000);
  const bootIds: string[] = [];
  for (let h = 0; h < hosts; h++) {
    const agentId = `host-${String(h).padStart(4, '0')}`;
    const bootId = `boot${h}`;
    bootIds.push(bootId);
    const services = Array.from({ length: perHost }, (_, i) => ({ name: `svc-${i}`, kind: 'vllm', url: `http://127.0.0.1:${18000 + (i % 1000)}` }));
    tracker.apply({ type: 'hello', at: t0, msg: { type: 'hello', v: PROTOCOL_VERSION, agentId, bootId, labels: {}, agentVersion: 'bench', services } });
    tracker.apply({
      type: 'snapshot',
      at: t0,
      agentId,
      msg: { type: 'snapshot', v: PROTOCOL_VERSION, gpu: null, services: services.map((s) => ({ ...s, state: 'healthy', reason: 'ready', since: iso(t0), lastProbe: { ok: true, latencyMs: 12, at: iso(t0) }, restarts: { count: 0, lastAt: null, lastOutcome: null } })) },
    });
  }

  const log = new Map<string, NotificationLogEntry>();
  const bodies: PipelineOnlyResult['bodies'] = [];
  const pipeline = new AlertPipeline({
    clock,
    config: { groupBy: ['alertname'], groupWait: 1000, groupInterval: 10_000, repeatInterval: 4 * 3600_000, receivers: [{ name: 'hook', sendResolved: true }], externalUrl: 'http://127.0.0.1:7700/' },
    getLogEntry: (r, k) => log.get(`${r}\n${k}`),
    emit: (n, entry) => {
      log.set(`${entry.receiver}\n${entry.groupKey}`, entry);
      const body = JSON.stringify(buildWebhookMessage(n));
      bodies.push({ atMs: clock.now() - t0, bytes: Buffer.byteLength(body), firing: n.firingCount, listed: n.alerts.length, truncated: n.truncatedAlerts });
    },
    updateLog: (entry) => log.set(`${entry.receiver}\n${entry.groupKey}`, entry),
    silences: () => [],
    agentLostAfter: 3600_000,
    evaluateEvery: 100,
    onError: (err) => {
      throw err;
    },
  });
  pipeline.update(tracker.state);
  pipeline.evaluate();
  await clock.advance(100);

  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;

  const seqs = new Array<number>(hosts).fill(0);
  let pipelineUs = 0;
  let reduceUs = 0;
  let maxStepMs = 0;
  let k = 0;
  const cpu = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  while (k < alerts) {
    const at = iso(clock.now());
    const r0 = cpu();
    for (let j = 0; j < perEval && k < alerts; j++, k++) {
      // round-robin (the alert-storm's order): every host changes in every evaluation;
      // by host: one host's services fail together, so an evaluation touches one or two hosts
      const h = byHost ? Math.floor(k / perHost) : k % hosts;
      const svc = byHost ? k % perHost : Math.floor(k / hosts);
      const event: Event = { agentId: `host-${String(h).padStart(4, '0')}`, bootId: bootIds[h]!, seq: ++seqs[h]!, at, type: 'state_changed', service: `svc-${svc}`, from: 'healthy', to: 'down', reason: 'connection refused (unit inactive)' };
      tracker.apply({ type: 'event', at: clock.now(), event });
    }
    const p0 = cpu();
    reduceUs += p0 - r0;
    const w0 = performance.now();
    pipeline.update(tracker.state);
    pipeline.evaluate();
    await clock.advance(100);
    maxStepMs = Math.max(maxStepMs, performance.now() - w0);
    pipelineUs += cpu() - p0;
  }
  // one more groupInterval so the last notification covers everything
  for (let i = 0; i < 110; i++) {
    const p0 = cpu();
    pipeline.update(tracker.state);
    await clock.advance(100);
    pipelineUs += cpu() - p0;
  }
  const firingAtEnd = pipeline.stats().firing;
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const rss1 = process.memoryUsage().rss;
  // keep the fleet and pipeline alive up to the measurement
  if (tracker.state.hosts.size !== hosts) throw new Error('fleet lost hosts');
  pipeline.stop();

  const last = bodies.at(-1);
  return {
    label: 'PIPELINE ONLY: rules → alert set → grouping → dedup → webhook body; no agents, WebSocket, SQLite or HTTP',
    alerts,
    hosts,
    servicesPerHost: perHost,
    order: byHost ? 'host' : 'round-robin',
    perEval,
    simulatedRatePerSec: perEval * 10,
    pipelineCpuMs: pipelineUs / 1000,
    pipelineCpuUsPerAlert: pipelineUs / alerts,
    pipelineAlertsPerCpuSec: alerts / (pipelineUs / 1e6),
    maxStepMs,
    reduceCpuMs: reduceUs / 1000,
    reduceCpuUsPerEvent: reduceUs / alerts,
    heapBeforeMb: heap0 / 2 ** 20,
    heapAfterMb: heap1 / 2 ** 20,
    heapBytesPerAlert: (heap1 - heap0) / alerts,
    rssDeltaBytesPerAlert: (rss1 - rss0) / alerts,
    firingAtEnd,
    notifications: bodies.length,
    lastNotificationFiring: last?.firing ?? 0,
    maxBodyBytes: Math.max(0, ...bodies.map((b) => b.bytes)),
    bodies,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { alerts: { type: 'string' }, hosts: { type: 'string' }, 'per-eval': { type: 'string' }, order: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  const int = (v: string | undefined, flag: string, lo: number, hi: number, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${flag}: expected an integer ${lo}..${hi}`);
    return n;
  };
  const alerts = int(values.alerts, 'alerts', 1, 2_000_000, 100_000);
  const hosts = int(values.hosts, 'hosts', 1, 100_000, Math.max(1, Math.ceil(alerts / 250)));
  const perEval = int(values['per-eval'], 'per-eval', 1, 1_000_000, 500);
  const order = values.order ?? 'round-robin';
  if (order !== 'round-robin' && order !== 'host') throw new Error('--order: round-robin or host');
  const r = await runPipelineOnly({ alerts, hosts, perEval, order });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  console.log(r.label);
  console.log(`${r.alerts} alerts over ${r.hosts} hosts × ${r.servicesPerHost} services, ${r.perEval} per 100 ms (${r.simulatedRatePerSec}/s simulated), failing ${r.order === 'host' ? 'host by host' : 'round-robin over hosts'}`);
  console.log(`pipeline CPU ${r.pipelineCpuMs.toFixed(0)} ms = ${r.pipelineCpuUsPerAlert.toFixed(1)} µs/alert = ${Math.round(r.pipelineAlertsPerCpuSec)} alerts per CPU-second; slowest step ${r.maxStepMs.toFixed(1)} ms`);
  console.log(`fleet reduce ${r.reduceCpuMs.toFixed(0)} ms = ${r.reduceCpuUsPerEvent.toFixed(1)} µs/event`);
  console.log(`heap ${r.heapBeforeMb.toFixed(1)} → ${r.heapAfterMb.toFixed(1)} MiB = ${r.heapBytesPerAlert.toFixed(0)} B/alert${r.gcExposed ? '' : ' (no --expose-gc: noisy)'}`);
  console.log(`notifications ${r.notifications}, last one ${r.lastNotificationFiring} firing, largest body ${r.maxBodyBytes} B`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
