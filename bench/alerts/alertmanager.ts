/**
 * Prometheus Alertmanager (Debian's /usr/bin/prometheus-alertmanager) for the alert-storm
 * benchmark: clustering off, its own storage dir, loopback only, one route to a
 * webhook_config at the bench's receiver with the same grouping as ours (group_by
 * [alertname], group_wait 1s, group_interval 10s, repeat_interval 4h, send_resolved).
 * Alerts go to `POST /api/v2/alerts` as a Prometheus would send them (labels alertname,
 * host, service, severity; summary/description annotations; startsAt, endsAt,
 * generatorURL), in batches.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLine, freePort, spawnGroup, stopGroup, waitUntilReady } from '../lib/proc.js';
import { GROUPING } from './coordinator.js';

export const AM_BIN = '/usr/bin/prometheus-alertmanager';

export interface AmProc {
  child: ChildProcess;
  pid: number;
  url: string;
  version: string;
  /** log lines (logfmt) that are warnings or errors: count and kinds */
  logs: () => { warnOrError: number; notifyFailed: number; kinds: Record<string, number>; samples: string[] };
  stop(): Promise<void>;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export function alertmanagerAvailable(): boolean {
  return existsSync(AM_BIN);
}

export async function startAlertmanager(opts: { dir: string; webhookUrl: string }): Promise<AmProc> {
  const port = await freePort();
  const g = GROUPING;
  const config = join(opts.dir, 'alertmanager.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  resolve_timeout: 1h',
      'route:',
      '  receiver: hook',
      `  group_by: [${g.groupBy.join(', ')}]`,
      `  group_wait: ${g.groupWaitS}s`,
      `  group_interval: ${g.groupIntervalS}s`,
      `  repeat_interval: ${g.repeatIntervalH}h`,
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${opts.webhookUrl}`,
      `        send_resolved: ${g.sendResolved}`,
      '',
    ].join('\n'),
  );
  const args = [`--config.file=${config}`, `--storage.path=${join(opts.dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=info'];
  const child = spawnGroup(AM_BIN, args, { cwd: opts.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let warnOrError = 0;
  let notifyFailed = 0;
  const kinds: Record<string, number> = {};
  const samples: string[] = [];
  let version = '';
  const onLine = (line: string) => {
    if (!version) version = /version=([^\s,]+)/.exec(line)?.[1] ?? '';
    const level = /level=(\w+)/.exec(line)?.[1];
    if (level !== 'warn' && level !== 'error') return;
    warnOrError++;
    const msg = /msg="([^"]*)"/.exec(line)?.[1] ?? /msg=(\S+)/.exec(line)?.[1] ?? '?';
    kinds[msg] = (kinds[msg] ?? 0) + 1;
    if (/Notify for alerts failed/i.test(line)) notifyFailed++;
    if (samples.length < 8) samples.push(line.slice(0, 500));
  };
  forEachLine(child, onLine);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, 'alertmanager', `${url}/-/ready`, () => samples.join(' | '));
  return {
    child,
    pid: child.pid!,
    url,
    get version() {
      return version;
    },
    logs: () => ({ warnOrError, notifyFailed, kinds: { ...kinds }, samples: [...samples] }),
    stop: () => stopGroup(child, 10_000),
  };
}

/** The alert a Prometheus rule `LLMServiceDown` would send for (host, service). endsAt: see the module comment of alert-storm.ts. */
export function promAlert(host: string, service: string, startsAt: string, endsAt: string): PromAlert {
  return {
    labels: { alertname: 'LLMServiceDown', host, service, severity: 'critical' },
    annotations: { summary: `${service} on ${host} is down`, description: 'connection refused (unit inactive)' },
    startsAt,
    endsAt,
    generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=llm_health_service_up%20%3D%3D%200',
  };
}

/** POST one batch; resolves with the HTTP status (0 on a network error). */
export async function postAlerts(url: string, alerts: readonly PromAlert[], timeoutMs = 30_000): Promise<number> {
  try {
    const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Selected series of Alertmanager's /metrics: name{labels} → value. */
export async function amMetrics(url: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('alertmanager_') && !line.startsWith('go_memstats_')) continue;
      if (!/^(?:go_memstats_(?:heap_alloc_bytes|heap_inuse_bytes)|alertmanager_(alerts|alerts_received_total|alerts_invalid_total|notifications_total|notifications_failed_total|notification_requests_total|notification_requests_failed_total|dispatcher_aggregation_groups|notification_latency_seconds_count|notification_latency_seconds_sum))\b/.test(line)) continue;
      const sp = line.lastIndexOf(' ');
      out[line.slice(0, sp)] = Number(line.slice(sp + 1));
    }
  } catch {
    // a busy Alertmanager: no sample this time
  }
  return out;
}

/** Sum of the series of `name` whose label text contains every `parts` item. */
export function metric(m: Record<string, number>, name: string, ...parts: string[]): number {
  let sum = 0;
  for (const [k, v] of Object.entries(m)) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (parts.every((p) => k.includes(p))) sum += v;
  }
  return sum;
}

/** Go's live heap after a forced GC (pprof's heap handler runs runtime.GC() with ?gc=1): go_memstats_heap_alloc_bytes. */
export async function amLiveHeapBytes(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/debug/pprof/heap?gc=1`, { signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
  } catch {
    return NaN;
  }
  const m = await amMetrics(url);
  return m.go_memstats_heap_alloc_bytes ?? NaN;
}
