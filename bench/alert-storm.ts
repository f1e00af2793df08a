/**
 * Alert storm: our coordinator vs Prometheus Alertmanager, side by side on the same burst,
 * with the same grouping (groupBy [alertname], groupWait 1s, groupInterval 10s,
 * repeatInterval 4h, send resolved) and the SAME webhook receiver (bench/alerts/receiver.ts:
 * a loopback HTTP server that answers 200 and records every body's size, arrival time and
 * alert count).
 *
 * NOT LIKE FOR LIKE, on purpose: ours is measured over its whole path (simulated agents →
 * WebSocket → SQLite → fleet state → rules → grouping → outbox → webhook), Alertmanager
 * over its API → webhook only (a Prometheus would have done the rule evaluation). The
 * pipeline-only figures (bench/alerts/pipeline-only.ts, in-process) isolate our alerting
 * part.
 *
 * - Ours: `node dist/cli/main.js coordinator -c FILE` as a child process, SQLite in a temp
 *   dir, one `webhook` receiver. Alerts are produced the real way: simulated agents
 *   (bench/lib/sim-agent.ts, the real protocol) send `state_changed` → down events with
 *   consistent snapshot and probes.
 * - Alertmanager: /usr/bin/prometheus-alertmanager, clustering off, a route to a
 *   webhook_config at the same receiver (send_resolved); the same alerts POSTed to
 *   /api/v2/alerts (labels alertname=LLMServiceDown, host, service, severity) in batches of
 *   100, as a Prometheus would. Their endsAt is 1 h ahead: a Prometheus re-sends firing
 *   alerts every minute with endsAt a few minutes ahead; we send once, so a far endsAt
 *   stands in for those re-sends (nothing resolves by timeout during the run).
 *
 * Phase 1 (burst): 250 agents × 4 services = 1,000 services fail at once / 1,000 alerts
 * POSTed at once (10 concurrent POSTs of 100). Reported: notifications (firing, and the
 * resolved one after everything recovers), time from the last failure sent to the FIRST
 * notification received, body sizes, delivery.
 *
 * Phase 2 (sustained): a stream of DISTINCT alerts for --sustain-seconds (default 20) at a
 * paced rate. Ours: spread round-robin over agents of 250 services each, one `events`
 * frame per agent per 20 ms tick and one `probes` frame per agent per second, as the real
 * agent sends. Alertmanager: POSTs of 100, at most 8 in flight. The sender never runs
 * further ahead than the system acknowledges (ours: 2 s of events unacked; AM: 8 POSTs in
 * flight), so an overloaded system shows as a lower achieved rate ("held back" ticks),
 * not as an ever-growing queue.
 *   2a, same load: both at --rate (default 5,000/s): CPU and memory per alert at the same
 *       alert count, notifications, delivery;
 *   2b, capacity: ours offered --ours-max-rate (default 10,000/s), AM --am-max-rate
 *       (default 20,000/s): what each sustains here, and what a very large group does to
 *       its notifications.
 * Reported: alerts ingested (ours: events acked, i.e. stored; AM: alerts in 200-answered
 * POSTs) and reflected (ours: in GET /api/v1/alerts?state=firing; AM: alertmanager_alerts,
 * every state, then the alerts listed by GET /api/v2/alerts), their rates from the first
 * failure sent, process CPU per alert (utime+stime from /proc/PID/stat, start → reflected),
 * memory per active alert ((RSS at the end of the phase − RSS before) / alerts; also at the
 * moment all were reflected; and the live heap after a forced full GC: ours V8 heapUsed via
 * the inspector, AM Go heap_alloc after pprof's ?gc=1), and every notification: size (vs a 1 MiB receiver limit,
 * nginx's default client_max_body_size), whether one covered every alert, whether each
 * was delivered (ours: outbox empty, delivery log; AM: alertmanager_notifications_failed_total
 * and its "Notify for alerts failed" log lines).
 *
 * Phases run one system at a time (never both at once), then pipeline-only in a child
 * process (--expose-gc) with the same alert count as 2a. --profile CPU-profiles our
 * coordinator (V8 inspector, as --cpu-prof) over 2a's stream; its figures then include
 * the profiler's overhead. --quick: 5 s streams, 2,000/s (capacity 4,000 and 8,000/s).
 *
 * node dist/bench/alert-storm.js [--quick] [--sustain-seconds N] [--rate R] [--ours-max-rate R]
 *   [--am-max-rate R] [--only ours|am] [--skip-burst] [--skip-sustained] [--skip-capacity]
 *   [--no-pipeline-only] [--profile] [--no-wait-others]
 * Results: .bench-out/alert-storm.json (and -<time>.json, -latest.json); table on stdout. A
 * partial run (--only, --skip-*, --no-pipeline-only) or a --profile run writes
 * .bench-out/alert-storm-partial-<time>.json instead.
 * Before measuring it waits (up to 20 min, checking every 30 s) until no other benchmark
 * (`dist/bench/` process) runs, then for a quiet machine as every benchmark does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alertmanagerAvailable, amLiveHeapBytes, amMetrics, AM_BIN, metric, postAlerts, promAlert, startAlertmanager, type AmProc, type PromAlert } from './alerts/alertmanager.js';
import { countListed, GROUPING, startCoordinatorProcess, type CoordinatorProc } from './alerts/coordinator.js';
import type { PipelineOnlyResult } from './alerts/pipeline-only.js';
import { RECEIVER_LIMIT_BYTES, WebhookReceiver, type WebhookRecord } from './alerts/receiver.js';
import { connectAll, SimAgent, warmUpValidators } from './lib/sim-agent.js';
import { CLK_TCK, pollUntil, procMemory, procTimes } from './lib/proc.js';
import { fmt, fmtRatio, machineInfo, OUT_DIR, printTable, ratio, runBench, writeResult } from './lib/report.js';
import { Inspector } from './lib/inspector.js';
import { summarizeProfile, type ProfileSummary } from './scale/profile.js';

const NAME = 'alert-storm';
const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', 'cli', 'main.js');
const PIPELINE_ONLY = join(here, 'alerts', 'pipeline-only.js');
const RUN_DEADLINE_MS = 40 * 60_000;
const GROUP_INTERVAL_MS = GROUPING.groupIntervalS * 1000;
const BURST_AGENTS = 250;
const BURST_SERVICES = 4;
const SERVICES_PER_AGENT_SUSTAINED = 250; // the protocol allows 256 per agent
const AM_BATCH = 100;
const AM_MAX_IN_FLIGHT = 8;
const TICK_MS = 20;
const PROBE_FLUSH_MS = 1000;
/** what the measured-beforehand figures were (bench README), for the output only */
const AM_REFERENCE = { firstNotificationS: 1.07, alertsPerSec: 17_000, cpuUsPerAlert: 88, kibPerAlert: 2.7 };
const ALERT_FP = '"fingerprint":';
const PROFILE_FOCUS = ['onFrame', 'parseAgentMessage', 'process', 'processEvents', 'appendEvents', 'appendInTx', 'apply', 'reduceFleet', 'putHost', 'updateHost', 'update', 'evaluate', 'evaluateRules', 'evaluateHost', 'ingest', 'flush', 'emit', 'buildWebhookMessage'];

interface Options {
  quick: boolean;
  sustainS: number;
  /** phase 2a: both systems at this rate */
  rate: number;
  /** phase 2b: each at its own high rate, to see what it sustains */
  oursMaxRate: number;
  amMaxRate: number;
  capacity: boolean;
  only: 'both' | 'ours' | 'am';
  sustained: boolean;
  burst: boolean;
  pipelineOnly: boolean;
  profile: boolean;
  waitOthers: boolean;
}

interface NotificationSummary {
  count: number;
  firing: number;
  resolved: number;
  maxBytes: number;
  totalBytes: number;
  overLimit: number;
  records: (WebhookRecord & { tMs: number })[];
}

interface BurstResult {
  system: 'ours' | 'am';
  alerts: number;
  /** ms from the first to the last failure sent */
  sendSpreadMs: number;
  firstNotificationMs: number | null;
  /** from the last ack (ours) / last POST answered (AM) */
  firstNotificationAfterIngestMs: number | null;
  firstNotification: { bytes: number; listed: number; truncated: number; represented: number } | null;
  ingestMs: number | null;
  reflected: number;
  firingNotifications: number;
  resolvedNotifications: number;
  resolvedNotificationMs: number | null;
  notifications: NotificationSummary;
  delivered: boolean;
  deliveryDetail: string;
  cpuMs: number;
  rssMb: number;
  warnings: number;
}

interface SustainedResult {
  system: 'ours' | 'am';
  offeredRatePerSec: number;
  seconds: number;
  agents?: number;
  servicesPerAgent?: number;
  sent: number;
  ingested: number;
  reflected: number;
  /** AM only: alerts listed by GET /api/v2/alerts (after the measurement window) */
  listed?: number;
  streamMs: number;
  ingestDoneMs: number | null;
  reflectedMs: number | null;
  ingestRatePerSec: number | null;
  reflectedRatePerSec: number | null;
  /** ingested per second of the run */
  perSecond: number[];
  /** ticks where the sender held back (in-flight bound) */
  heldBackTicks: number;
  /** the bench process (load generator + receiver) during the stream, % of one core */
  loadGeneratorCpuPercent: number;
  failedRequests: number;
  cpuMs: number;
  cpuUsPerAlert: number | null;
  rssBeforeMb: number;
  rssAtReflectedMb: number;
  rssAfterNotificationsMb: number;
  hwmMb: number;
  /** (RSS when all reflected − RSS before) / alerts reflected */
  memBytesPerAlertAtReflected: number | null;
  /** (RSS at the end of the phase, notifications sent − RSS before) / alerts reflected: the headline */
  memBytesPerAlert: number | null;
  /** live heap after a forced full GC (ours: V8 heapUsed via the inspector; AM: go_memstats_heap_alloc_bytes after pprof's gc=1), before the stream and at the end */
  liveHeapBeforeMb: number;
  liveHeapAfterMb: number;
  liveHeapBytesPerAlert: number | null;
  /** RSS right after that forced GC, at the end */
  rssAfterGcMb: number;
  notifications: NotificationSummary;
  lastNotificationCovers: number;
  coversAll: boolean;
  delivered: boolean;
  deliveryDetail: string;
  warnings: number;
  warningKinds: Record<string, number>;
  profile?: ProfileSummary & { file: string };
}

// ------------------------------------------------------------------ helpers

function parseOptions(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: 'boolean' },
      'sustain-seconds': { type: 'string' },
      rate: { type: 'string' },
      'ours-max-rate': { type: 'string' },
      'am-max-rate': { type: 'string' },
      'skip-capacity': { type: 'boolean' },
      only: { type: 'string' },
      'skip-sustained': { type: 'boolean' },
      'skip-burst': { type: 'boolean' },
      'no-pipeline-only': { type: 'boolean' },
      profile: { type: 'boolean' },
      'no-wait-others': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (v: string | undefined, flag: string, lo: number, hi: number, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${flag}: expected an integer ${lo}..${hi}, got ${JSON.stringify(v)}`);
    return n;
  };
  const quick = Boolean(values.quick);
  const only = values.only ?? 'both';
  if (only !== 'both' && only !== 'ours' && only !== 'am') throw new Error('--only: ours or am');
  return {
    quick,
    sustainS: int(values['sustain-seconds'], 'sustain-seconds', 1, 120, quick ? 5 : 20),
    rate: int(values.rate, 'rate', 100, 50_000, quick ? 2000 : 5000),
    oursMaxRate: int(values['ours-max-rate'], 'ours-max-rate', 100, 50_000, quick ? 4000 : 10_000),
    amMaxRate: int(values['am-max-rate'], 'am-max-rate', 100, 100_000, quick ? 8000 : 20_000),
    capacity: !values['skip-capacity'],
    only,
    sustained: !values['skip-sustained'],
    burst: !values['skip-burst'],
    pipelineOnly: !values['no-pipeline-only'],
    profile: Boolean(values.profile),
    waitOthers: !values['no-wait-others'],
  };
}

const pad = (n: number, w = 3) => String(n).padStart(w, '0');
const mb = (kb: number) => kb / 1024;

function cpuTicks(pid: number): number {
  return procTimes(pid)?.self ?? NaN;
}

function rssKb(pid: number): number {
  return procMemory(pid)?.rssKb ?? NaN;
}

async function medianRssKb(pid: number, samples = 5, everyMs = 200): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    xs.push(rssKb(pid));
    if (i < samples - 1) await sleep(everyMs);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}

/** Waits until `pid` uses under 3 % of a core over a second (startup, connects, snapshots done); at most `maxMs`. */
async function settle(pid: number, maxMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const a = cpuTicks(pid);
    await sleep(1000);
    const used = cpuTicks(pid) - a;
    if (!(used > 3) || Date.now() - started > maxMs) return Date.now() - started;
  }
}

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

function summarize(records: WebhookRecord[], since: number): NotificationSummary {
  return {
    count: records.length,
    firing: records.filter((r) => r.status === 'firing').length,
    resolved: records.filter((r) => r.status === 'resolved').length,
    maxBytes: Math.max(0, ...records.map((r) => r.bytes)),
    totalBytes: records.reduce((n, r) => n + r.bytes, 0),
    overLimit: records.filter((r) => r.bytes > RECEIVER_LIMIT_BYTES).length,
    records: records.map((r) => ({ ...r, tMs: r.at - since })),
  };
}

const represented = (r: WebhookRecord) => r.listed + r.truncated;

/** Our outbox and delivery log: everything delivered, nothing pending or failed? */
async function oursDelivery(coord: CoordinatorProc): Promise<{ delivered: boolean; detail: string }> {
  try {
    const res = await fetch(`${coord.url}/api/v1/notifications?limit=1000`, { signal: AbortSignal.timeout(20_000) });
    const body = (await res.json()) as { outbox?: { state?: string }[]; deliveries?: { outcome?: string }[]; receivers?: { state?: string; lastError?: string | null }[] };
    const outbox = body.outbox ?? [];
    const outcomes: Record<string, number> = {};
    for (const d of body.deliveries ?? []) outcomes[d.outcome ?? '?'] = (outcomes[d.outcome ?? '?'] ?? 0) + 1;
    const receiver = body.receivers?.[0];
    const delivered = outbox.length === 0 && !outcomes.failed;
    return { delivered, detail: `outbox pending/failed ${outbox.length}; delivery log ${JSON.stringify(outcomes)}; worker ${receiver?.state ?? '?'}${receiver?.lastError ? ` (${receiver.lastError})` : ''}` };
  } catch (err) {
    return { delivered: false, detail: `GET /api/v1/notifications failed: ${(err as Error).message}` };
  }
}

async function amDelivery(am: AmProc): Promise<{ delivered: boolean; detail: string; failed: number }> {
  const m = await amMetrics(am.url);
  const total = metric(m, 'alertmanager_notifications_total', 'integration="webhook"');
  const failed = metric(m, 'alertmanager_notifications_failed_total', 'integration="webhook"');
  const reqFailed = metric(m, 'alertmanager_notification_requests_failed_total', 'integration="webhook"');
  const logs = am.logs();
  const lost = failed + logs.notifyFailed;
  return {
    delivered: failed === 0 && logs.notifyFailed === 0,
    failed: lost > 0 ? Math.max(failed, logs.notifyFailed) : 0,
    detail: `notifications_total ${total}, notifications_failed_total ${failed}, requests_failed ${reqFailed}, "Notify for alerts failed" log lines ${logs.notifyFailed}${logs.samples.length ? `; first warning: ${logs.samples[0]!.slice(0, 300)}` : ''}`,
  };
}

/** Waits (up to `maxMs`, every `everyMs`) until no other process runs a benchmark from dist/bench/. */
async function waitForOtherBenchmarks(maxMs: number, everyMs: number): Promise<{ waitedS: number; stillRunning: string[] }> {
  const ours = new Set<number>();
  for (let pid = process.pid; pid > 1 && !ours.has(pid); ) {
    ours.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  const others = (): string[] => {
    const out = spawnSync('pgrep', ['-af', 'dist/bench/'], { encoding: 'utf8' }).stdout ?? '';
    return out
      .split('\n')
      .filter(Boolean)
      .filter((l) => !ours.has(Number(l.split(' ')[0])));
  };
  const started = Date.now();
  let running = others();
  let said = false;
  while (running.length && Date.now() - started < maxMs) {
    if (!said) console.log(`${NAME}: other benchmarks are running; waiting up to ${maxMs / 60_000} min (checking every ${everyMs / 1000} s):\n  ${running.join('\n  ')}`);
    said = true;
    await sleep(everyMs);
    running = others();
  }
  if (running.length) console.log(`${NAME}: WARNING: other benchmarks still running after ${maxMs / 60_000} min; measuring anyway (figures will be noisy)`);
  else if (said) console.log(`${NAME}: no other benchmark running now (waited ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return { waitedS: (Date.now() - started) / 1000, stillRunning: running };
}

// ------------------------------------------------------------------ phase 1: burst

async function oursBurst(dir: string, recv: WebhookReceiver): Promise<BurstResult> {
  const path = '/ours-burst';
  const coord = await startCoordinatorProcess({ cli: CLI, dir, webhookUrl: `${recv.url}${path}` });
  let lastAckAt = 0;
  const agents = Array.from({ length: BURST_AGENTS }, (_, i) => new SimAgent({ url: coord.wsUrl, token: coord.token, id: `host-${pad(i)}`, services: BURST_SERVICES, validateOutgoing: 'first-of-type', onAck: (_a, _n, at) => (lastAckAt = at) }));
  const total = BURST_AGENTS * BURST_SERVICES;
  try {
    await connectAll(agents, 25);
    warmUpValidators();
    await settle(coord.pid);
    await sleep(1000);
    const cpu0 = cpuTicks(coord.pid);
    const tFirst = Date.now();
    for (const a of agents) a.down(a.serviceNames, undefined, { probes: 'now' });
    const tLast = Date.now();
    const first = await recv.waitFor(path, tFirst, 30_000, (r) => r.status === 'firing');
    const acked = await pollUntil(() => agents.every((a) => a.unacked === 0), 30_000, 5);
    const burstLastAckAt = acked ? lastAckAt : 0; // the resolve step below acks again
    const listed = await pollUntil(async () => {
      const c = await countListed(`${coord.url}/api/v1/alerts?state=firing`, ALERT_FP);
      return c.count >= total ? c : null;
    }, 20_000, 200);
    const reflected = listed?.count ?? (await countListed(`${coord.url}/api/v1/alerts?state=firing`, ALERT_FP)).count;
    // anything after the first notification (another group flush) within one more groupInterval
    await sleepUntil((first?.at ?? Date.now()) + GROUP_INTERVAL_MS + 3000);
    const firingRecords = recv.for(path).filter((r) => r.at >= tFirst);
    // everything recovers: the resolved notification
    const tRes = Date.now();
    for (const a of agents) a.recover(a.serviceNames);
    const resolved = await recv.waitFor(path, tRes, GROUP_INTERVAL_MS + 10_000, (r) => r.status === 'resolved');
    await sleep(1500);
    const all = recv.for(path).filter((r) => r.at >= tFirst);
    const delivery = await oursDelivery(coord);
    return {
      system: 'ours',
      alerts: total,
      sendSpreadMs: tLast - tFirst,
      firstNotificationMs: first ? first.at - tLast : null,
      firstNotificationAfterIngestMs: first && burstLastAckAt ? first.at - burstLastAckAt : null,
      firstNotification: first ? { bytes: first.bytes, listed: first.listed, truncated: first.truncated, represented: represented(first) } : null,
      ingestMs: burstLastAckAt ? burstLastAckAt - tLast : null,
      reflected,
      firingNotifications: firingRecords.filter((r) => r.status === 'firing').length,
      resolvedNotifications: all.filter((r) => r.status === 'resolved').length,
      resolvedNotificationMs: resolved ? resolved.at - tRes : null,
      notifications: summarize(all, tLast),
      delivered: delivery.delivered && all.length > 0,
      deliveryDetail: delivery.detail,
      cpuMs: ((cpuTicks(coord.pid) - cpu0) * 1000) / CLK_TCK,
      rssMb: mb(rssKb(coord.pid)),
      warnings: coord.warnings().count,
    };
  } finally {
    for (const a of agents) a.terminate();
    await coord.stop();
  }
}

async function amBurst(dir: string, recv: WebhookReceiver): Promise<BurstResult> {
  const path = '/am-burst';
  const am = await startAlertmanager({ dir, webhookUrl: `${recv.url}${path}` });
  try {
    await settle(am.pid);
    await sleep(1000);
    const cpu0 = cpuTicks(am.pid);
    const now = Date.now();
    const startsAt = new Date(now).toISOString();
    const endsAt = new Date(now + 3600_000).toISOString();
    const alerts: PromAlert[] = [];
    for (let i = 0; i < BURST_AGENTS; i++) for (let j = 0; j < BURST_SERVICES; j++) alerts.push(promAlert(`host-${pad(i)}`, `svc-${j}`, startsAt, endsAt));
    const batches: PromAlert[][] = [];
    for (let i = 0; i < alerts.length; i += AM_BATCH) batches.push(alerts.slice(i, i + AM_BATCH));
    const tFirst = Date.now();
    const posts = batches.map((b) => postAlerts(am.url, b));
    const tLast = Date.now();
    const statuses = await Promise.all(posts);
    const tAccepted = Date.now();
    const accepted = statuses.filter((s) => s === 200).length * AM_BATCH;
    const first = await recv.waitFor(path, tFirst, 30_000, (r) => r.status === 'firing');
    const reflected = (await countListed(`${am.url}/api/v2/alerts?active=true`, ALERT_FP)).count;
    await sleepUntil((first?.at ?? Date.now()) + GROUP_INTERVAL_MS + 3000);
    const firingRecords = recv.for(path).filter((r) => r.at >= tFirst);
    // everything recovers: Prometheus sends the alerts once more with endsAt = now
    const tRes = Date.now();
    const endsNow = new Date(tRes).toISOString();
    await Promise.all(batches.map((b) => postAlerts(am.url, b.map((a) => ({ ...a, endsAt: endsNow })))));
    const resolved = await recv.waitFor(path, tRes, GROUP_INTERVAL_MS + 10_000, (r) => r.status === 'resolved');
    await sleep(1500);
    const all = recv.for(path).filter((r) => r.at >= tFirst);
    const delivery = await amDelivery(am);
    return {
      system: 'am',
      alerts: accepted,
      sendSpreadMs: tLast - tFirst,
      firstNotificationMs: first ? first.at - tLast : null,
      firstNotificationAfterIngestMs: first ? first.at - tAccepted : null,
      firstNotification: first ? { bytes: first.bytes, listed: first.listed, truncated: first.truncated, represented: represented(first) } : null,
      ingestMs: tAccepted - tLast,
      reflected,
      firingNotifications: firingRecords.filter((r) => r.status === 'firing').length,
      resolvedNotifications: all.filter((r) => r.status === 'resolved').length,
      resolvedNotificationMs: resolved ? resolved.at - tRes : null,
      notifications: summarize(all, tLast),
      delivered: delivery.delivered && all.length > 0,
      deliveryDetail: delivery.detail,
      cpuMs: ((cpuTicks(am.pid) - cpu0) * 1000) / CLK_TCK,
      rssMb: mb(rssKb(am.pid)),
      warnings: am.logs().warnOrError,
    };
  } finally {
    await am.stop();
  }
}

// ------------------------------------------------------------------ phase 2: sustained

async function oursSustained(dir: string, recv: WebhookReceiver, opts: Options, rate: number, path: string, profileIt: boolean): Promise<SustainedResult> {
  const target = rate * opts.sustainS;
  const agentCount = Math.ceil(target / SERVICES_PER_AGENT_SUSTAINED);
  const perAgent = Math.ceil(target / agentCount);
  const coord = await startCoordinatorProcess({ cli: CLI, dir, webhookUrl: `${recv.url}${path}`, inspect: true });
  let ackedTotal = 0;
  let tStart = 0;
  const perSecond: number[] = [];
  const agents = Array.from(
    { length: agentCount },
    (_, i) =>
      new SimAgent({
        url: coord.wsUrl,
        token: coord.token,
        id: `host-${pad(i, 4)}`,
        services: perAgent,
        validateOutgoing: 'first-of-type',
        onAck: (_a, n, at) => {
          ackedTotal += n;
          if (tStart) {
            const s = Math.floor((at - tStart) / 1000);
            perSecond[s] = (perSecond[s] ?? 0) + n;
          }
        },
      }),
  );
  let inspector: Inspector | null = null;
  try {
    console.log(`  ours: ${agentCount} agents × ${perAgent} services connecting (snapshots of every service, healthy)`);
    await connectAll(agents, 25);
    warmUpValidators();
    const settledMs = await settle(coord.pid, 60_000);
    console.log(`  ours: connected; coordinator settled after ${(settledMs / 1000).toFixed(0)} s; streaming ${target} distinct failures at ${rate}/s for ${opts.sustainS} s`);
    // the live JS heap after a full GC, before and at the end (inspector; nothing else uses it);
    // RSS "before" is taken after that GC (the lower baseline: conservative for ours)
    inspector = await Inspector.connect(coord.inspectPort!);
    const live0 = await inspector.memoryAfterGc();
    await settle(coord.pid, 10_000);
    const rss0 = await medianRssKb(coord.pid);
    if (profileIt) await inspector.startProfiler();
    const cpu0 = cpuTicks(coord.pid);
    const self0 = process.cpuUsage();
    const maxInFlight = Math.max(1000, rate * 2);
    let sent = 0;
    let heldBack = 0;
    tStart = Date.now();
    let nextProbes = tStart + PROBE_FLUSH_MS;
    const streamEnd = tStart + opts.sustainS * 1000;
    while (Date.now() < streamEnd && sent < target) {
      const now = Date.now();
      const due = Math.min(target, Math.floor((rate * (now - tStart)) / 1000));
      const room = maxInFlight - (sent - ackedTotal);
      const n = Math.max(0, Math.min(due - sent, room));
      if (n < due - sent) heldBack++;
      if (n > 0) {
        const byAgent = new Map<number, string[]>();
        for (let k = sent; k < sent + n; k++) {
          const a = k % agentCount;
          let list = byAgent.get(a);
          if (!list) byAgent.set(a, (list = []));
          list.push(`svc-${Math.floor(k / agentCount)}`);
        }
        for (const [a, names] of byAgent) agents[a]!.down(names, undefined, { probes: 'later' });
        sent += n;
      }
      if (now >= nextProbes) {
        for (const a of agents) a.flushProbes();
        nextProbes += PROBE_FLUSH_MS;
      }
      await sleep(TICK_MS);
    }
    const tStreamEnd = Date.now();
    const selfCpu = process.cpuUsage(self0);
    for (const a of agents) a.flushProbes();
    console.log(`  ours: stream done: ${sent} sent in ${((tStreamEnd - tStart) / 1000).toFixed(1)} s, ${ackedTotal} acked so far; waiting for the rest`);
    const allAcked = await pollUntil(() => ackedTotal >= sent, 180_000, 10);
    const tIngested = allAcked ? Date.now() : null;
    let profile: (ProfileSummary & { file: string }) | undefined;
    if (profileIt) {
      const p = await inspector.stopProfiler();
      const file = join(OUT_DIR, `${NAME}-ours-${rate}.cpuprofile`);
      mkdirSync(OUT_DIR, { recursive: true });
      writeFileSync(file, JSON.stringify(p));
      profile = { ...summarizeProfile(p, PROFILE_FOCUS, 30), file };
    }
    // reflected: the CPU/RSS sample is taken before each GET, so the GET's own cost is outside the window
    let cpuAt = cpuTicks(coord.pid);
    let rssAt = rssKb(coord.pid);
    let tReflected: number | null = null;
    let reflected = 0;
    const reflectDeadline = Date.now() + 60_000;
    await sleep(150); // the pipeline evaluates at most every 100 ms
    while (Date.now() < reflectDeadline) {
      cpuAt = cpuTicks(coord.pid);
      rssAt = rssKb(coord.pid);
      const t = Date.now();
      const c = await countListed(`${coord.url}/api/v1/alerts?state=firing`, ALERT_FP, 60_000);
      reflected = c.count;
      if (c.count >= sent) {
        tReflected = t;
        break;
      }
      await sleep(250);
    }
    console.log(`  ours: ${reflected} alerts listed by GET /api/v1/alerts${tReflected ? ` ${((tReflected - tStart) / 1000).toFixed(1)} s after the first failure` : ' (not all)'}; waiting for the notifications to settle`);
    // the notification that covers everything: next group flush (≤ groupInterval) + delivery
    const covering = await recv.waitFor(path, tStart, 3 * GROUP_INTERVAL_MS + 15_000, (r) => r.status === 'firing' && represented(r) >= sent);
    await sleep(2000);
    const records = recv.for(path).filter((r) => r.at >= tStart);
    const delivery = await oursDelivery(coord);
    const lastFiring = records.filter((r) => r.status === 'firing').at(-1);
    const cpuMs = ((cpuAt - cpu0) * 1000) / CLK_TCK;
    const mem = procMemory(coord.pid);
    const live1 = await inspector.memoryAfterGc();
    const rssAfterGc = rssKb(coord.pid);
    const w = coord.warnings();
    return {
      system: 'ours',
      offeredRatePerSec: rate,
      seconds: opts.sustainS,
      agents: agentCount,
      servicesPerAgent: perAgent,
      sent,
      ingested: ackedTotal,
      reflected,
      streamMs: tStreamEnd - tStart,
      ingestDoneMs: tIngested ? tIngested - tStart : null,
      reflectedMs: tReflected ? tReflected - tStart : null,
      ingestRatePerSec: tIngested ? ackedTotal / ((tIngested - tStart) / 1000) : null,
      reflectedRatePerSec: tReflected ? reflected / ((tReflected - tStart) / 1000) : null,
      perSecond: Array.from(perSecond, (v) => v ?? 0),
      heldBackTicks: heldBack,
      loadGeneratorCpuPercent: ((selfCpu.user + selfCpu.system) / 1000 / (tStreamEnd - tStart)) * 100,
      failedRequests: agents.filter((a) => a.closes.length > 0).length,
      cpuMs,
      cpuUsPerAlert: reflected > 0 ? (cpuMs * 1000) / reflected : null,
      rssBeforeMb: mb(rss0),
      rssAtReflectedMb: mb(rssAt),
      rssAfterNotificationsMb: mb(mem?.rssKb ?? NaN),
      hwmMb: mb(mem?.hwmKb ?? NaN),
      memBytesPerAlertAtReflected: reflected > 0 ? ((rssAt - rss0) * 1024) / reflected : null,
      memBytesPerAlert: reflected > 0 && mem ? ((mem.rssKb - rss0) * 1024) / reflected : null,
      liveHeapBeforeMb: live0.heapUsed / 2 ** 20,
      liveHeapAfterMb: live1.heapUsed / 2 ** 20,
      liveHeapBytesPerAlert: reflected > 0 ? (live1.heapUsed - live0.heapUsed) / reflected : null,
      rssAfterGcMb: mb(rssAfterGc),
      notifications: summarize(records, tStart),
      lastNotificationCovers: lastFiring ? represented(lastFiring) : 0,
      coversAll: covering !== null,
      delivered: delivery.delivered && covering !== null,
      deliveryDetail: delivery.detail,
      warnings: w.count,
      warningKinds: w.kinds,
      ...(profile ? { profile } : {}),
    };
  } finally {
    inspector?.close();
    for (const a of agents) a.terminate();
    await coord.stop();
  }
}

async function amSustained(dir: string, recv: WebhookReceiver, opts: Options, rate: number, path: string): Promise<SustainedResult> {
  const target = rate * opts.sustainS;
  const am = await startAlertmanager({ dir, webhookUrl: `${recv.url}${path}` });
  try {
    await settle(am.pid);
    const live0 = await amLiveHeapBytes(am.url);
    await settle(am.pid, 10_000);
    const rss0 = await medianRssKb(am.pid);
    const cpu0 = cpuTicks(am.pid);
    const startsAt = new Date().toISOString();
    const endsAt = new Date(Date.now() + 3600_000).toISOString();
    const batchOf = (b: number): PromAlert[] => {
      const out: PromAlert[] = [];
      for (let k = b * AM_BATCH; k < (b + 1) * AM_BATCH; k++) out.push(promAlert(`host-${pad(Math.floor(k / SERVICES_PER_AGENT_SUSTAINED), 4)}`, `svc-${k % SERVICES_PER_AGENT_SUSTAINED}`, startsAt, endsAt));
      return out;
    };
    console.log(`  am: streaming up to ${target} distinct alerts at ${rate}/s for ${opts.sustainS} s (POSTs of ${AM_BATCH}, at most ${AM_MAX_IN_FLIGHT} in flight)`);
    const totalBatches = Math.floor(target / AM_BATCH);
    let issued = 0;
    let inFlight = 0;
    let accepted = 0;
    let failedRequests = 0;
    let heldBack = 0;
    const perSecond: number[] = [];
    const pending = new Set<Promise<void>>();
    const self0 = process.cpuUsage();
    const tStart = Date.now();
    const streamEnd = tStart + opts.sustainS * 1000;
    while (Date.now() < streamEnd && issued < totalBatches) {
      const due = Math.min(totalBatches, Math.floor((rate * (Date.now() - tStart)) / 1000 / AM_BATCH));
      while (issued < due && inFlight < AM_MAX_IN_FLIGHT) {
        const b = issued++;
        inFlight++;
        const p: Promise<void> = postAlerts(am.url, batchOf(b), 60_000).then((status) => {
          inFlight--;
          pending.delete(p);
          if (status === 200) {
            accepted += AM_BATCH;
            const s = Math.floor((Date.now() - tStart) / 1000);
            perSecond[s] = (perSecond[s] ?? 0) + AM_BATCH;
          } else failedRequests++;
        });
        pending.add(p);
      }
      if (issued < due) heldBack++;
      await sleep(inFlight >= AM_MAX_IN_FLIGHT ? 2 : 10);
    }
    const tStreamEnd = Date.now();
    const selfCpu = process.cpuUsage(self0);
    const sent = issued * AM_BATCH;
    console.log(`  am: stream done: ${sent} sent in ${((tStreamEnd - tStart) / 1000).toFixed(1)} s; waiting for the POSTs in flight`);
    await Promise.race([Promise.all([...pending]), sleep(120_000)]);
    const tIngested = inFlight === 0 ? Date.now() : null;
    let cpuAt = cpuTicks(am.pid);
    let rssAt = rssKb(am.pid);
    let tReflected: number | null = null;
    let reflected = 0;
    const reflectDeadline = Date.now() + 60_000;
    while (Date.now() < reflectDeadline) {
      cpuAt = cpuTicks(am.pid);
      rssAt = rssKb(am.pid);
      const t = Date.now();
      const m = await amMetrics(am.url);
      // every state: a POSTed alert is `unprocessed` until its group's first flush; GET /api/v2/alerts lists it at once
      reflected = metric(m, 'alertmanager_alerts');
      if (reflected >= accepted) {
        tReflected = t;
        break;
      }
      await sleep(250);
    }
    // after the window: what GET /api/v2/alerts lists (a big answer: counted as it streams)
    const listed = await countListed(`${am.url}/api/v2/alerts?active=true`, ALERT_FP, 120_000);
    console.log(`  am: ${reflected} active (alertmanager_alerts), ${listed.count} listed by GET /api/v2/alerts (${(listed.bytes / 2 ** 20).toFixed(0)} MiB answer); waiting for the notifications to settle`);
    const covering = await recv.waitFor(path, tStart, 3 * GROUP_INTERVAL_MS + 15_000, (r) => r.status === 'firing' && represented(r) >= accepted);
    await sleep(2000);
    const records = recv.for(path).filter((r) => r.at >= tStart);
    const delivery = await amDelivery(am);
    const lastFiring = records.filter((r) => r.status === 'firing').at(-1);
    const cpuMs = ((cpuAt - cpu0) * 1000) / CLK_TCK;
    const mem = procMemory(am.pid);
    const live1 = await amLiveHeapBytes(am.url);
    const rssAfterGc = rssKb(am.pid);
    const logs = am.logs();
    return {
      system: 'am',
      offeredRatePerSec: rate,
      seconds: opts.sustainS,
      sent,
      ingested: accepted,
      reflected,
      listed: listed.count,
      streamMs: tStreamEnd - tStart,
      ingestDoneMs: tIngested ? tIngested - tStart : null,
      reflectedMs: tReflected ? tReflected - tStart : null,
      ingestRatePerSec: tIngested ? accepted / ((tIngested - tStart) / 1000) : null,
      reflectedRatePerSec: tReflected ? reflected / ((tReflected - tStart) / 1000) : null,
      perSecond: Array.from(perSecond, (v) => v ?? 0),
      heldBackTicks: heldBack,
      loadGeneratorCpuPercent: ((selfCpu.user + selfCpu.system) / 1000 / (tStreamEnd - tStart)) * 100,
      failedRequests,
      cpuMs,
      cpuUsPerAlert: reflected > 0 ? (cpuMs * 1000) / reflected : null,
      rssBeforeMb: mb(rss0),
      rssAtReflectedMb: mb(rssAt),
      rssAfterNotificationsMb: mb(mem?.rssKb ?? NaN),
      hwmMb: mb(mem?.hwmKb ?? NaN),
      memBytesPerAlertAtReflected: reflected > 0 ? ((rssAt - rss0) * 1024) / reflected : null,
      memBytesPerAlert: reflected > 0 && mem ? ((mem.rssKb - rss0) * 1024) / reflected : null,
      liveHeapBeforeMb: live0 / 2 ** 20,
      liveHeapAfterMb: live1 / 2 ** 20,
      liveHeapBytesPerAlert: reflected > 0 ? (live1 - live0) / reflected : null,
      rssAfterGcMb: mb(rssAfterGc),
      notifications: summarize(records, tStart),
      lastNotificationCovers: lastFiring ? represented(lastFiring) : 0,
      coversAll: covering !== null,
      delivered: delivery.delivered && covering !== null,
      deliveryDetail: delivery.detail,
      warnings: logs.warnOrError,
      warningKinds: logs.kinds,
    };
  } finally {
    await am.stop();
  }
}

// ------------------------------------------------------------------ pipeline only

async function pipelineOnly(alerts: number, perEval: number): Promise<PipelineOnlyResult | { error: string }> {
  const hosts = Math.ceil(alerts / SERVICES_PER_AGENT_SUSTAINED);
  const child = spawn(process.execPath, ['--expose-gc', PIPELINE_ONLY, '--alerts', String(alerts), '--hosts', String(hosts), '--per-eval', String(perEval), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
  const code = await new Promise<number | null>((resolveCode) => child.once('exit', (c) => resolveCode(c)));
  clearTimeout(timer);
  if (code !== 0) return { error: `pipeline-only exited ${code}: ${err.trim().slice(-500)}` };
  try {
    return JSON.parse(out.trim().split('\n').at(-1)!) as PipelineOnlyResult;
  } catch {
    return { error: `pipeline-only printed no JSON: ${out.slice(0, 300)}` };
  }
}

// ------------------------------------------------------------------ output

const yes = (b: boolean | undefined) => (b === undefined ? '—' : b ? 'yes' : 'NO');
const n0 = (v: number | null | undefined) => fmt(v, 0);
const kib = (bytes: number | null | undefined) => (bytes == null || !Number.isFinite(bytes) ? '—' : `${(bytes / 1024).toFixed(2)} KiB`);

function printBurst(o: BurstResult | null, a: BurstResult | null): void {
  const row = (label: string, f: (r: BurstResult) => number | null | undefined, digits = 0, ratioToo = true): string[] => {
    const ov = o ? f(o) : null;
    const av = a ? f(a) : null;
    return [label, fmt(ov, digits), fmt(av, digits), ratioToo ? fmtRatio(ratio(ov, av)) : ''];
  };
  printTable(
    `Phase 1: burst of ${BURST_AGENTS * BURST_SERVICES} failures at once (groupBy [alertname], groupWait ${GROUPING.groupWaitS}s, groupInterval ${GROUPING.groupIntervalS}s, send resolved; same receiver)`,
    ['figure', 'ours', 'Alertmanager', 'ours/AM'],
    [
      row('alerts (ours: events acked; AM: POSTed, 200)', (r) => r.alerts),
      row('alerts listed by the API afterwards', (r) => r.reflected),
      row('firing notifications', (r) => r.firingNotifications),
      row('resolved notifications (after all recover)', (r) => r.resolvedNotifications),
      row('first notification after last failure sent, ms', (r) => r.firstNotificationMs),
      row('  after last ack (ours) / POST answered (AM), ms', (r) => r.firstNotificationAfterIngestMs),
      row('  failures sent over, ms', (r) => r.sendSpreadMs, 0, false),
      row('last failure sent → last ack / POST answered, ms', (r) => r.ingestMs),
      row('alerts in first notification (listed + counted)', (r) => r.firstNotification?.represented),
      row('  of which listed in full', (r) => r.firstNotification?.listed),
      row('first notification body, bytes', (r) => r.firstNotification?.bytes),
      row('largest body, bytes', (r) => r.notifications.maxBytes),
      row('all bodies, bytes', (r) => r.notifications.totalBytes),
      row('resolved notification after recovery, ms', (r) => r.resolvedNotificationMs),
      row('process CPU, burst + resolve, ms', (r) => r.cpuMs),
      ['every notification delivered', yes(o?.delivered), yes(a?.delivered), ''],
      [`every body ≤ ${RECEIVER_LIMIT_BYTES / 1024} KiB receiver limit`, yes(o ? o.notifications.overLimit === 0 : undefined), yes(a ? a.notifications.overLimit === 0 : undefined), ''],
    ],
  );
}

function printSustained(title: string, o: SustainedResult | null, a: SustainedResult | null): void {
  const row = (label: string, f: (r: SustainedResult) => number | null | undefined, digits = 0, ratioToo = true): string[] => {
    const ov = o ? f(o) : null;
    const av = a ? f(a) : null;
    return [label, fmt(ov, digits), fmt(av, digits), ratioToo ? fmtRatio(ratio(ov, av)) : ''];
  };
  printTable(title, ['figure', 'ours', 'Alertmanager', 'ours/AM'], [
    row('offered rate, alerts/s', (r) => r.offeredRatePerSec, 0, false),
    row('alerts sent (distinct)', (r) => r.sent),
    row('ingested (ours: events acked = stored; AM: POST 200)', (r) => r.ingested),
    row('reflected (GET /api/v1/alerts; alertmanager_alerts)', (r) => r.reflected),
    row('ingest rate, alerts/s (first failure → last ack/answer)', (r) => r.ingestRatePerSec),
    row('reflected rate, alerts/s (first failure → all listed)', (r) => r.reflectedRatePerSec),
    row('sender held back, ticks (system behind)', (r) => r.heldBackTicks, 0, false),
    row('load generator + receiver CPU, % of a core', (r) => r.loadGeneratorCpuPercent, 0, false),
    row('process CPU, ms (start → reflected)', (r) => r.cpuMs),
    row('CPU per alert, µs', (r) => r.cpuUsPerAlert, 1),
    row('RSS before, MiB', (r) => r.rssBeforeMb, 1),
    row('RSS when all reflected, MiB', (r) => r.rssAtReflectedMb, 1),
    row('RSS at the end (notifications sent), MiB', (r) => r.rssAfterNotificationsMb, 1),
    row('peak RSS (VmHWM), MiB', (r) => r.hwmMb, 1),
    row('memory per active alert at the end, bytes', (r) => r.memBytesPerAlert, 0),
    row('  when all were reflected, bytes', (r) => r.memBytesPerAlertAtReflected, 0),
    row('live heap at the end after a forced GC, MiB', (r) => r.liveHeapAfterMb, 1),
    row('  live heap per alert (ours V8 heapUsed; AM Go heap_alloc), bytes', (r) => r.liveHeapBytesPerAlert, 0),
    row('  RSS right after that GC, MiB', (r) => r.rssAfterGcMb, 1),
    row('notifications', (r) => r.notifications.count),
    row('largest body, bytes', (r) => r.notifications.maxBytes),
    row(`bodies over ${RECEIVER_LIMIT_BYTES / 1024} KiB`, (r) => r.notifications.overLimit, 0, false),
    row('alerts covered by the last firing notification', (r) => r.lastNotificationCovers),
    ['a notification covered every alert', yes(o?.coversAll), yes(a?.coversAll), ''],
    ['every notification delivered', yes(o?.delivered), yes(a?.delivered), ''],
  ]);
  for (const r of [o, a]) {
    if (!r) continue;
    const who = r.system === 'ours' ? 'ours' : 'AM';
    console.log(`  ${who} notifications (s after the first failure: bytes, alerts listed+counted): ${r.notifications.records.map((n) => `${(n.tMs / 1000).toFixed(1)}s: ${n.bytes} B ${n.listed}+${n.truncated} ${n.status}`).join('; ') || 'none'}`);
    console.log(`  ${who} delivery: ${r.deliveryDetail}`);
  }
}

function printPipelineOnly(p: PipelineOnlyResult, a: SustainedResult | null): void {
  printTable(
    `PIPELINE ONLY (in-process, ours; no agents/WebSocket/SQLite/HTTP): ${p.alerts} alerts over ${p.hosts} hosts × ${p.servicesPerHost} services, ${p.simulatedRatePerSec}/s simulated; AM column = AM's API → webhook at the same load (not like for like)`,
    ['figure', 'ours pipeline', 'Alertmanager', 'ours/AM'],
    [
      ['CPU per alert, µs (rules → alert set → grouping → flush → webhook body)', fmt(p.pipelineCpuUsPerAlert, 1), fmt(a?.cpuUsPerAlert, 1), fmtRatio(ratio(p.pipelineCpuUsPerAlert, a?.cpuUsPerAlert))],
      ['alerts per CPU-second', n0(p.pipelineAlertsPerCpuSec), n0(a?.cpuUsPerAlert ? 1e6 / a.cpuUsPerAlert : null), fmtRatio(ratio(p.pipelineAlertsPerCpuSec, a?.cpuUsPerAlert ? 1e6 / a.cpuUsPerAlert : null))],
      ['fleet reduce per event, µs (real path, not pipeline)', fmt(p.reduceCpuUsPerEvent, 1), '', ''],
      ['live heap per alert after a full GC, bytes (AM: Go heap_alloc)', n0(p.heapBytesPerAlert), n0(a?.liveHeapBytesPerAlert), fmtRatio(ratio(p.heapBytesPerAlert, a?.liveHeapBytesPerAlert))],
      ['slowest evaluation step, ms', fmt(p.maxStepMs, 1), '', ''],
      ['notifications / largest body, bytes', `${p.notifications} / ${p.maxBodyBytes}`, '', ''],
    ],
  );
}

// ------------------------------------------------------------------ main

async function main(opts: Options): Promise<void> {
  const deadline = Date.now() + RUN_DEADLINE_MS;
  const runOurs = opts.only !== 'am';
  let runAm = opts.only !== 'ours';
  if (runAm && !alertmanagerAvailable()) {
    console.log(`${NAME}: ${AM_BIN} not found (apt-get install -y prometheus-alertmanager): Alertmanager side skipped`);
    runAm = false;
  }
  const amVersion = runAm ? (spawnSync(AM_BIN, ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0]!.trim() : null;
  console.log(
    `${NAME}: ours vs ${amVersion ?? 'Alertmanager (skipped)'}; grouping groupBy [${GROUPING.groupBy.join(', ')}], groupWait ${GROUPING.groupWaitS}s, groupInterval ${GROUPING.groupIntervalS}s, repeatInterval ${GROUPING.repeatIntervalH}h, send resolved`,
  );
  console.log(`  NOTE: ours is measured over its whole path (agent events → WebSocket → SQLite → fleet → rules → grouping → outbox → webhook); Alertmanager over its API → webhook only.`);
  console.log(`  ${cpus().length} cores: each system runs alone; the load generator and receiver share the machine with it.`);
  const root = mkdtempSync(join(tmpdir(), 'llm-health-alert-storm-'));
  const recv = new WebhookReceiver();
  let oursB: BurstResult | null = null;
  let amB: BurstResult | null = null;
  let oursS: SustainedResult | null = null;
  let amS: SustainedResult | null = null;
  let oursC: SustainedResult | null = null;
  let amC: SustainedResult | null = null;
  let pOnly: PipelineOnlyResult | null = null;
  let pOnlyError: string | null = null;
  const errors: string[] = [];
  const step = async <T>(name: string, budgetMs: number, f: () => Promise<T>): Promise<T | null> => {
    if (Date.now() + budgetMs > deadline) {
      errors.push(`${name}: skipped, run deadline`);
      return null;
    }
    console.log(`\n${name}`);
    try {
      return await f();
    } catch (err) {
      const msg = `${name}: ${(err as Error).stack ?? String(err)}`;
      console.log(`  FAILED: ${msg}`);
      errors.push(msg);
      return null;
    }
  };
  const S = opts.sustainS;
  try {
    await recv.start();
    console.log(`  receiver ${recv.url} (answers 200, records size/time/alert count of every body)`);
    if (opts.burst && runOurs) oursB = await step('phase 1, ours: 250 agents × 4 services go down at once', 120_000, () => oursBurst(mkdirP(join(root, 'ours-burst')), recv));
    if (opts.burst && runAm) amB = await step('phase 1, Alertmanager: 1,000 alerts POSTed at once', 120_000, () => amBurst(mkdirP(join(root, 'am-burst')), recv));
    if (opts.sustained && runOurs) oursS = await step(`phase 2a (same load), ours: ${opts.rate}/s for ${S} s`, S * 1000 + 420_000, () => oursSustained(mkdirP(join(root, 'ours-same')), recv, opts, opts.rate, '/ours-same', opts.profile));
    if (opts.sustained && runAm) amS = await step(`phase 2a (same load), Alertmanager: ${opts.rate}/s for ${S} s`, S * 1000 + 360_000, () => amSustained(mkdirP(join(root, 'am-same')), recv, opts, opts.rate, '/am-same'));
    if (opts.sustained && opts.capacity && runOurs) oursC = await step(`phase 2b (capacity), ours: offered ${opts.oursMaxRate}/s for ${S} s`, S * 1000 + 480_000, () => oursSustained(mkdirP(join(root, 'ours-capacity')), recv, opts, opts.oursMaxRate, '/ours-capacity', false));
    if (opts.sustained && opts.capacity && runAm) amC = await step(`phase 2b (capacity), Alertmanager: offered ${opts.amMaxRate}/s for ${S} s`, S * 1000 + 360_000, () => amSustained(mkdirP(join(root, 'am-capacity')), recv, opts, opts.amMaxRate, '/am-capacity'));
    if (opts.pipelineOnly && runOurs) {
      const alerts = opts.rate * S;
      const r = await step(`pipeline only (in-process): ${alerts} alerts, ${opts.rate}/s simulated`, 600_000, () => pipelineOnly(alerts, Math.max(1, Math.round(opts.rate / 10))));
      if (r && 'error' in r) pOnlyError = r.error;
      else pOnly = r;
    }
  } finally {
    await recv.close();
    rmSync(root, { recursive: true, force: true });
  }

  if (opts.burst) printBurst(oursB, amB);
  if (opts.sustained) {
    printSustained(`Phase 2a, same load: ${opts.rate} distinct alerts/s for ${S} s to both (ours: WHOLE PATH agents → WebSocket → SQLite → fleet → rules → grouping → outbox → webhook; AM: API → webhook only)`, oursS, amS);
    if (opts.capacity) printSustained(`Phase 2b, capacity: ours offered ${opts.oursMaxRate}/s, AM offered ${opts.amMaxRate}/s for ${S} s (the sender never runs more than 2 s of events / ${AM_MAX_IN_FLIGHT} POSTs ahead)`, oursC, amC);
  }
  if (pOnly) printPipelineOnly(pOnly, amS);
  if (pOnlyError) console.log(`\npipeline only: ${pOnlyError}`);
  if (oursS?.profile) printProfile(oursS.profile);

  // goals: as few notifications; first within 1.2× AM; less memory per alert; every notification within limits and delivered
  const oursRuns = [oursB, oursS, oursC].filter((r): r is BurstResult | SustainedResult => r !== null);
  const goals = {
    fewerOrEqualNotifications: oursB && amB ? oursB.firingNotifications + oursB.resolvedNotifications <= amB.firingNotifications + amB.resolvedNotifications && oursB.firingNotifications > 0 : null,
    firstNotificationWithin1_2xAm: oursB && amB && oursB.firstNotificationMs !== null && amB.firstNotificationMs !== null ? oursB.firstNotificationMs <= 1.2 * amB.firstNotificationMs : null,
    lessMemoryPerAlert: oursS && amS && oursS.memBytesPerAlert !== null && amS.memBytesPerAlert !== null ? oursS.memBytesPerAlert < amS.memBytesPerAlert : null,
    everyNotificationWithinLimitAndDelivered: oursRuns.length ? oursRuns.every((r) => r.notifications.overLimit === 0 && r.delivered && (!('coversAll' in r) || r.coversAll)) : null,
  };
  const says = (v: boolean | null) => (v === null ? 'not measured' : v ? 'MET' : 'NOT MET');
  const amBig = [amS, amC].filter((r): r is SustainedResult => r !== null);
  console.log('\nGoals (ours vs Alertmanager on this machine):');
  console.log(`  as few notifications as AM (burst, firing + resolved): ${says(goals.fewerOrEqualNotifications)}${oursB && amB ? ` (${oursB.firingNotifications}+${oursB.resolvedNotifications} vs ${amB.firingNotifications}+${amB.resolvedNotifications})` : ''}`);
  console.log(`  first notification within 1.2× AM's latency: ${says(goals.firstNotificationWithin1_2xAm)}${oursB && amB ? ` (${n0(oursB.firstNotificationMs)} ms vs ${n0(amB.firstNotificationMs)} ms = ${fmtRatio(ratio(oursB.firstNotificationMs, amB.firstNotificationMs))})` : ''}`);
  console.log(`  less memory per active alert (same load): ${says(goals.lessMemoryPerAlert)}${oursS && amS ? ` (${kib(oursS.memBytesPerAlert)} vs ${kib(amS.memBytesPerAlert)} = ${fmtRatio(ratio(oursS.memBytesPerAlert, amS.memBytesPerAlert))}; when all were reflected ${kib(oursS.memBytesPerAlertAtReflected)} vs ${kib(amS.memBytesPerAlertAtReflected)} = ${fmtRatio(ratio(oursS.memBytesPerAlertAtReflected, amS.memBytesPerAlertAtReflected))}; live heap after a forced GC ${kib(oursS.liveHeapBytesPerAlert)} vs ${kib(amS.liveHeapBytesPerAlert)} = ${fmtRatio(ratio(oursS.liveHeapBytesPerAlert, amS.liveHeapBytesPerAlert))})` : ''}`);
  console.log(
    `  every notification within the ${RECEIVER_LIMIT_BYTES / 1024} KiB receiver limit and delivered, whatever the group size: ${says(goals.everyNotificationWithinLimitAndDelivered)}` +
      (oursRuns.length ? ` (ours: largest body ${Math.max(...oursRuns.map((r) => r.notifications.maxBytes))} B)` : '') +
      (amBig.length ? `; AM: largest body ${Math.max(...amBig.map((r) => r.notifications.maxBytes))} B, ${amBig.reduce((n, r) => n + r.notifications.overLimit, 0)} over the limit, every notification delivered: ${amBig.map((r) => yes(r.delivered)).join('/')}` : ''),
  );
  console.log(`  reference, measured beforehand on this machine (AM): first notification ${AM_REFERENCE.firstNotificationS} s, ~${AM_REFERENCE.alertsPerSec}/s, ${AM_REFERENCE.cpuUsPerAlert} µs CPU and ${AM_REFERENCE.kibPerAlert} KiB per alert`);
  if (errors.length) console.log(`\nerrors:\n  ${errors.join('\n  ')}`);

  const result = {
    benchmark: NAME,
    note: 'ours: whole path (agent events → WebSocket → SQLite → fleet → rules → grouping → outbox → webhook); Alertmanager: API → webhook only. pipelineOnly: in-process, ours alone.',
    machine: machineInfo({ alertmanager: amVersion }),
    options: { ...opts, grouping: GROUPING, burst: { agents: BURST_AGENTS, servicesPerAgent: BURST_SERVICES }, amBatch: AM_BATCH, amMaxInFlight: AM_MAX_IN_FLIGHT, receiverLimitBytes: RECEIVER_LIMIT_BYTES },
    burst: { ours: oursB, alertmanager: amB },
    sameLoad: { ours: oursS, alertmanager: amS },
    capacity: { ours: oursC, alertmanager: amC },
    pipelineOnly: pOnly ?? (pOnlyError ? { error: pOnlyError } : null),
    ratiosOursOverAm: {
      burstNotifications: ratio(oursB ? oursB.firingNotifications + oursB.resolvedNotifications : null, amB ? amB.firingNotifications + amB.resolvedNotifications : null),
      burstFirstNotificationMs: ratio(oursB?.firstNotificationMs, amB?.firstNotificationMs),
      burstLargestBody: ratio(oursB?.notifications.maxBytes, amB?.notifications.maxBytes),
      sameLoadReflectedRate: ratio(oursS?.reflectedRatePerSec, amS?.reflectedRatePerSec),
      sameLoadCpuPerAlert: ratio(oursS?.cpuUsPerAlert, amS?.cpuUsPerAlert),
      sameLoadMemPerAlertAtEnd: ratio(oursS?.memBytesPerAlert, amS?.memBytesPerAlert),
      sameLoadMemPerAlertAtReflected: ratio(oursS?.memBytesPerAlertAtReflected, amS?.memBytesPerAlertAtReflected),
      sameLoadLiveHeapPerAlert: ratio(oursS?.liveHeapBytesPerAlert, amS?.liveHeapBytesPerAlert),
      sameLoadLargestBody: ratio(oursS?.notifications.maxBytes, amS?.notifications.maxBytes),
      capacityReflectedRate: ratio(oursC?.reflectedRatePerSec, amC?.reflectedRatePerSec),
      capacityLargestBody: ratio(oursC?.notifications.maxBytes, amC?.notifications.maxBytes),
      pipelineOnlyCpuPerAlertVsAmSameLoad: ratio(pOnly?.pipelineCpuUsPerAlert, amS?.cpuUsPerAlert),
      pipelineOnlyHeapPerAlertVsAmLiveHeap: ratio(pOnly?.heapBytesPerAlert, amS?.liveHeapBytesPerAlert),
    },
    goals,
    amReferenceMeasuredBefore: AM_REFERENCE,
    errors,
  };
  // a partial or profiled run never replaces the full run's .bench-out/alert-storm.json
  const partial = opts.only !== 'both' || !opts.burst || !opts.sustained || !opts.capacity || !opts.pipelineOnly || opts.profile;
  const stamped = writeResult(partial ? `${NAME}-partial` : NAME, result);
  if (partial) console.log(`\nresults (partial or profiled run): ${stamped}`);
  else {
    const fixed = join(OUT_DIR, `${NAME}.json`);
    writeFileSync(fixed, readFileSync(stamped, 'utf8'));
    console.log(`\nresults: ${fixed} (and ${stamped})`);
  }
  if (!oursB && !amB && !oursS && !amS) throw new Error('no phase completed');
}

function printProfile(p: ProfileSummary & { file: string }): void {
  console.log(`\nours, phase 2: coordinator CPU profile of the stream (${p.file}): ${p.wallMs.toFixed(0)} ms sampled, busy ${p.busyMs.toFixed(0)} ms, idle ${p.idleMs.toFixed(0)} ms, GC ${p.gcMs.toFixed(0)} ms`);
  printTable('  top self time', ['function', 'self ms', '% of busy'], p.topSelf.map((r) => [r.name, r.ms.toFixed(0), r.name === '(idle)' ? '—' : r.pctOfBusy.toFixed(1)]));
  printTable('  self time by file', ['file', 'self ms', '% of busy'], p.byFile.map((r) => [r.name, r.ms.toFixed(0), r.name === '(idle)' ? '—' : r.pctOfBusy.toFixed(1)]));
  printTable('  inclusive time', ['function', 'incl ms', '% of busy'], p.inclusive.map((r) => [r.name, r.ms.toFixed(0), r.pctOfBusy.toFixed(1)]));
}

function mkdirP(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

// options first (a typo fails at once), then wait for other benchmarks (they would skew
// every figure), then the usual quiet-machine wait of runBench
let parsed: Options;
try {
  parsed = parseOptions();
} catch (err) {
  console.error(`${NAME}: ${(err as Error).message}`);
  process.exit(2);
}
(parsed.waitOthers ? waitForOtherBenchmarks(20 * 60_000, 30_000) : Promise.resolve(null)).then(
  () => runBench(NAME, () => main(parsed)),
  () => runBench(NAME, () => main(parsed)),
);
