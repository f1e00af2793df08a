import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EMPTY_FLEET, reduceFleet, type FleetInput, type FleetState } from '../../../coordinator/fleet/index.js';
import { EMPTY_RULE_MEMORY, evaluateRules, type RuleMemory, type RuleResult } from '../../../coordinator/alerts/rules.js';
import { fingerprint } from '../../../coordinator/alerts/fingerprint.js';
import type { DesiredAlert } from '../../../coordinator/alerts/types.js';
import type { EventType, ServiceState } from '../../../shared/protocol/constants.js';
import type { GpuInfo } from '../../../shared/protocol/messages.js';

const T0 = Date.UTC(2026, 0, 1);
const LOST = 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Builds realistic fleet states through the real reducer, and evaluates rules step by step. */
class Fleet {
  state: FleetState = EMPTY_FLEET;
  memory: RuleMemory = EMPTY_RULE_MEMORY;
  last!: RuleResult;
  private seq = new Map<string, number>();

  apply(input: FleetInput): this {
    this.state = reduceFleet(this.state, input);
    return this;
  }
  hello(at: number, host: string, services: string[], labels: Record<string, string> = { rack: 'r1' }): this {
    return this.apply({ type: 'hello', at, msg: { type: 'hello', v: 1, agentId: host, bootId: 'b1', labels, agentVersion: '0.1.0', services: services.map((name) => ({ name, kind: 'vllm', url: `http://127.0.0.1/${name}`, unit: `${name}.service` })) } });
  }
  snapshot(at: number, host: string, states: Record<string, ServiceState | [ServiceState, string]>, gpus?: GpuInfo[]): this {
    return this.apply({
      type: 'snapshot',
      at,
      agentId: host,
      msg: {
        type: 'snapshot',
        v: 1,
        services: Object.entries(states).map(([name, st]) => {
          const [state, reason] = Array.isArray(st) ? st : [st, st === 'healthy' ? 'ready' : st];
          return { name, kind: 'vllm', url: `http://127.0.0.1/${name}`, state, reason, since: iso(at), lastProbe: null, restarts: { count: 0, lastAt: null, lastOutcome: null } };
        }),
        ...(gpus ? { gpu: { at: iso(at), gpus } } : {}),
      },
    });
  }
  event(at: number, host: string, service: string, type: EventType, to: ServiceState | undefined, reason: string): this {
    const seq = (this.seq.get(host) ?? 0) + 1;
    this.seq.set(host, seq);
    return this.apply({ type: 'event', at, event: { agentId: host, bootId: 'b1', seq, at: iso(at), type, service, ...(to ? { to } : {}), reason } });
  }
  to(at: number, host: string, service: string, state: ServiceState, reason: string = state): this {
    return this.event(at, host, service, 'state_changed', state, reason);
  }
  eval(now: number, retireAfter = Infinity): RuleResult {
    this.last = evaluateRules(this.state, now, this.memory, { agentLostAfter: LOST, retireAfter });
    this.memory = this.last.memory;
    return this.last;
  }
  /** `alertname service` (or `alertname gpu=N`) of what fires, sorted */
  names(now: number, retireAfter = Infinity): string[] {
    return this.eval(now, retireAfter).alerts.map(describe).sort();
  }
}

function describe(a: DesiredAlert): string {
  const { alertname, host, service, gpu } = a.labels;
  return [alertname, host, service ?? (gpu !== undefined ? `gpu=${gpu}` : '')].filter(Boolean).join(' ');
}

test('fingerprint: sha256 of sorted k=v pairs joined with NUL, hex, 16 chars; order-independent', () => {
  const expected = createHash('sha256').update('alertname=X\u0000host=h1\u0000service=s').digest('hex').slice(0, 16);
  assert.equal(fingerprint({ service: 's', host: 'h1', alertname: 'X' }), expected);
  assert.equal(fingerprint({ alertname: 'X', host: 'h1', service: 's' }), expected);
  assert.notEqual(fingerprint({ alertname: 'X', host: 'h1', service: 't' }), expected);
  assert.match(expected, /^[0-9a-f]{16}$/);
});

test('a healthy fleet fires nothing', () => {
  const f = new Fleet().hello(T0, 'gpu-a', ['llama', 'qwen']).snapshot(T0, 'gpu-a', { llama: 'healthy', qwen: 'healthy' });
  assert.deepEqual(f.names(T0), []);
});

test('labels: alertname, host, severity, service, plus agent labels; agent labels never override reserved names', () => {
  const f = new Fleet().hello(T0, 'gpu-b', ['qwen-vl'], { rack: 'r7', severity: 'info', host: 'spoof', service: 'x', gpu: 'h100', alertname: 'Nope' });
  f.to(T0 + 1000, 'gpu-b', 'qwen-vl', 'down', 'connection refused (unit failed)');
  const [a] = f.eval(T0 + 1000).alerts;
  assert.deepEqual(a!.labels, { rack: 'r7', alertname: 'LLMServiceDown', host: 'gpu-b', severity: 'critical', service: 'qwen-vl' });
  assert.equal(a!.fingerprint, fingerprint(a!.labels));
  assert.deepEqual(a!.annotations, { summary: 'qwen-vl on gpu-b is down', description: 'connection refused (unit failed)' });
});

test('LLMServiceDown fires on down and stays through restarting, starting, unhealthy and gave_up until healthy', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'healthy' });
  f.to(T0 + 1000, 'h', 's', 'down', 'crashed');
  assert.deepEqual(f.names(T0 + 1000), ['LLMServiceDown h s']);
  const fp = f.last.alerts[0]!.fingerprint;
  for (const [i, st] of (['restarting', 'starting', 'unhealthy', 'starting'] as ServiceState[]).entries()) {
    f.to(T0 + 2000 + i * 1000, 'h', 's', st, `now ${st}`);
    const r = f.eval(T0 + 2000 + i * 1000);
    assert.deepEqual(r.alerts.map(describe), ['LLMServiceDown h s'], st);
    assert.equal(r.alerts[0]!.fingerprint, fp, 'same alert throughout');
    assert.equal(r.alerts[0]!.annotations.summary, `s on h is down (now ${st})`);
  }
  f.to(T0 + 9000, 'h', 's', 'gave_up', 'flap protection');
  assert.deepEqual(f.names(T0 + 9000), ['LLMRestartLoop h s', 'LLMServiceDown h s']);
  f.to(T0 + 10_000, 'h', 's', 'healthy', 'ready');
  assert.deepEqual(f.names(T0 + 10_000), []);
});

test('LLMServiceDown resolves on degraded too; a restart the operator asked for (no failure) never fires it', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'healthy' });
  f.to(T0 + 1000, 'h', 's', 'down');
  f.eval(T0 + 1000);
  f.to(T0 + 2000, 'h', 's', 'degraded', 'served by fallback http://b');
  assert.deepEqual(f.names(T0 + 2000), ['LLMServiceDegraded h s']);

  const g = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'healthy' });
  for (const [i, st] of (['restarting', 'starting', 'healthy'] as ServiceState[]).entries()) {
    g.to(T0 + 1000 * (i + 1), 'h', 's', st);
    assert.deepEqual(g.names(T0 + 1000 * (i + 1)), [], st);
  }
});

test('gave_up alone (seen first after a coordinator restart) fires LLMServiceDown and LLMRestartLoop', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: ['gave_up', '5 restarts in 10m'] });
  const r = f.eval(T0);
  assert.deepEqual(r.alerts.map(describe).sort(), ['LLMRestartLoop h s', 'LLMServiceDown h s']);
  const loop = r.alerts.find((a) => a.labels.alertname === 'LLMRestartLoop')!;
  assert.equal(loop.labels.severity, 'critical');
  assert.equal(loop.annotations.description, '5 restarts in 10m');
});

test('LLMServiceDegraded (warning) vs LLMSlowInference (warning): degraded whose reason starts with "slow"', () => {
  const f = new Fleet().hello(T0, 'h', ['a', 'b', 'c']).snapshot(T0, 'h', { a: ['degraded', 'slow deep probe: 12.3s > 5s'], b: ['degraded', 'model not listed'], c: ['degraded', 'busy'] });
  const r = f.eval(T0);
  assert.deepEqual(r.alerts.map(describe).sort(), ['LLMServiceDegraded h b', 'LLMServiceDegraded h c', 'LLMSlowInference h a']);
  for (const a of r.alerts) assert.equal(a.labels.severity, 'warning');
  assert.equal(r.alerts.find((a) => a.labels.service === 'a')!.annotations.summary, 'a on h is slow');
  f.to(T0 + 1000, 'h', 'a', 'degraded', 'Slow: tokens/s under floor');
  f.to(T0 + 1000, 'h', 'b', 'healthy', 'ready');
  assert.deepEqual(f.names(T0 + 1000), ['LLMServiceDegraded h c', 'LLMSlowInference h a']);
});

test('LLMRestartFailed fires on a failed restart, stays through the next restart_started, resolves when a restart succeeds', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'healthy' });
  f.to(T0 + 1000, 'h', 's', 'down', 'crashed');
  f.event(T0 + 2000, 'h', 's', 'restart_started', undefined, 'systemctl restart s.service');
  f.event(T0 + 3000, 'h', 's', 'restart_failed', undefined, 'exit 1');
  const r = f.eval(T0 + 3000);
  assert.deepEqual(r.alerts.map(describe).sort(), ['LLMRestartFailed h s', 'LLMServiceDown h s']);
  assert.equal(r.alerts.find((a) => a.labels.alertname === 'LLMRestartFailed')!.labels.severity, 'critical');
  f.event(T0 + 10_000, 'h', 's', 'restart_started', undefined, 'retry');
  assert.deepEqual(f.names(T0 + 10_000), ['LLMRestartFailed h s', 'LLMServiceDown h s']);
  f.event(T0 + 11_000, 'h', 's', 'restart_succeeded', undefined, 'active');
  assert.deepEqual(f.names(T0 + 11_000), ['LLMServiceDown h s'], 'a successful restart resolves it; the service is not healthy yet');
});

test('LLMRestartFailed resolves when the service is healthy, and that old failure does not fire again on a later down', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'healthy' });
  f.to(T0 + 1000, 'h', 's', 'down');
  f.event(T0 + 2000, 'h', 's', 'restart_started', undefined, 'restart');
  f.event(T0 + 3000, 'h', 's', 'restart_failed', undefined, 'exit 1');
  assert.ok(f.names(T0 + 3000).includes('LLMRestartFailed h s'));
  f.to(T0 + 4000, 'h', 's', 'healthy', 'recovered on its own');
  assert.deepEqual(f.names(T0 + 4000), []);
  f.to(T0 + 5000, 'h', 's', 'down', 'crashed again');
  assert.deepEqual(f.names(T0 + 5000), ['LLMServiceDown h s']);
});

test('LLMAgentOffline: one alert per host, no service label; service alerts frozen (same objects), nothing resolved', () => {
  const f = new Fleet().hello(T0, 'gpu-a', ['s', 't']).snapshot(T0, 'gpu-a', { s: 'healthy', t: ['degraded', 'busy'] });
  f.to(T0 + 1000, 'gpu-a', 's', 'down', 'crashed');
  const before = f.eval(T0 + 1000).alerts;
  assert.deepEqual(before.map(describe).sort(), ['LLMServiceDegraded gpu-a t', 'LLMServiceDown gpu-a s']);

  f.apply({ type: 'disconnected', at: T0 + 2000, agentId: 'gpu-a' });
  assert.deepEqual(f.names(T0 + 2000 + LOST - 1).length, 2, 'not offline before agentLostAfter');
  const r = f.eval(T0 + 2000 + LOST + 1);
  assert.deepEqual(r.alerts.map(describe).sort(), ['LLMAgentOffline gpu-a', 'LLMServiceDegraded gpu-a t', 'LLMServiceDown gpu-a s']);
  for (const a of before) assert.ok(r.alerts.includes(a), 'frozen: the very same desired alerts');
  const off = r.alerts.find((a) => a.labels.alertname === 'LLMAgentOffline')!;
  assert.deepEqual(off.labels, { rack: 'r1', alertname: 'LLMAgentOffline', host: 'gpu-a', severity: 'critical' });
  assert.equal(off.annotations.summary, 'agent gpu-a is offline');
  assert.match(off.annotations.description, /not heard from since 2026-01-01T00:00:02\.000Z \(disconnected\)/);

  // the tracker declares it lost; still the same
  f.apply({ type: 'agentLost', at: T0 + 40_000, agentId: 'gpu-a' });
  assert.equal(f.eval(T0 + 40_000).alerts.length, 3);

  // it returns: the offline alert goes, services are evaluated from what it now says
  f.hello(T0 + 50_000, 'gpu-a', ['s', 't']).snapshot(T0 + 50_000, 'gpu-a', { s: 'restarting', t: 'healthy' });
  assert.deepEqual(f.names(T0 + 50_000), ['LLMServiceDown gpu-a s'], 'still latched down through restarting');
});

test('an offline host seen for the first time (coordinator restart) fires only LLMAgentOffline', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'down' });
  assert.deepEqual(f.names(T0 + LOST + 1), ['LLMAgentOffline h']);
});

test('an online service in state unknown neither fires nor resolves its alerts', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: ['degraded', 'model not listed'] });
  const [a] = f.eval(T0).alerts;
  f.to(T0 + 1000, 'h', 's', 'unknown', 'no report');
  assert.deepEqual(f.eval(T0 + 1000).alerts, [a]);
});

test('LLMGpuUnhealthy (warning) per GPU with healthy=false or warnings, labelled with its index', () => {
  const f = new Fleet().hello(T0, 'h', ['s'], { rack: 'r1', gpu: 'h100' }).snapshot(T0, 'h', { s: 'healthy' }, [
    { index: 0, name: 'NVIDIA H100', healthy: true, warnings: [] },
    { index: 1, name: 'NVIDIA H100', warnings: ['temperature 92C', 'thermal throttling'] },
    { index: 2, healthy: false },
  ]);
  const r = f.eval(T0);
  assert.deepEqual(r.alerts.map(describe).sort(), ['LLMGpuUnhealthy h gpu=1', 'LLMGpuUnhealthy h gpu=2']);
  const g1 = r.alerts.find((a) => a.labels.gpu === '1')!;
  assert.deepEqual(g1.labels, { rack: 'r1', alertname: 'LLMGpuUnhealthy', host: 'h', severity: 'warning', gpu: '1' });
  assert.equal(g1.annotations.summary, 'GPU 1 (NVIDIA H100) on h is unhealthy');
  assert.equal(g1.annotations.description, 'temperature 92C; thermal throttling');
  f.apply({ type: 'gpu', at: T0 + 1000, agentId: 'h', msg: { type: 'gpu', v: 1, gpus: [{ index: 1, warnings: [] }, { index: 2, healthy: true }] } });
  assert.deepEqual(f.names(T0 + 1000), []);
});

test('incremental: heartbeats and other hosts’ changes reuse a host’s alert array; probes reuse unchanged alerts', () => {
  const f = new Fleet().hello(T0, 'a', ['s']).hello(T0, 'b', ['s']).snapshot(T0, 'a', { s: 'down' }).snapshot(T0, 'b', { s: 'healthy' });
  const r1 = f.eval(T0);
  const aAlerts = r1.byHost.get('a')!;
  assert.equal(aAlerts.length, 1);
  f.apply({ type: 'seen', at: T0 + 500, agentId: 'a' });
  f.to(T0 + 600, 'b', 's', 'degraded', 'busy');
  const r2 = f.eval(T0 + 600);
  assert.equal(r2.byHost.get('a'), aAlerts, 'same array object for an unchanged host');
  f.apply({ type: 'probes', at: T0 + 700, agentId: 'a', msg: { type: 'probes', v: 1, results: [{ service: 's', ok: false, state: 'down', latencyMs: null, at: iso(T0 + 700) }] } });
  const r3 = f.eval(T0 + 700);
  assert.equal(r3.byHost.get('a'), aAlerts, 'a probe result that changes no alert keeps the array too');
  assert.deepEqual(r3.alerts.map(describe).sort(), ['LLMServiceDegraded b s', 'LLMServiceDown a s']);
});

test('evaluateRules is pure: the same inputs give equal results, the previous memory is not modified', () => {
  const f = new Fleet().hello(T0, 'h', ['s']).snapshot(T0, 'h', { s: 'down' });
  const m0 = EMPTY_RULE_MEMORY;
  const r1 = evaluateRules(f.state, T0, m0, { agentLostAfter: LOST });
  const r2 = evaluateRules(f.state, T0, m0, { agentLostAfter: LOST });
  assert.deepEqual(r1.alerts, r2.alerts);
  assert.equal(m0.hosts.size, 0);
});

test('retired: a host away for retireAfter pages no more (offline and frozen alerts resolve); it pages again once back', () => {
  const RETIRE = 7 * 86_400_000;
  const f = new Fleet().hello(T0, 'gpu-a', ['s']).snapshot(T0, 'gpu-a', { s: 'down' });
  assert.deepEqual(f.names(T0, RETIRE), ['LLMServiceDown gpu-a s']);
  f.apply({ type: 'disconnected', at: T0 + 1, agentId: 'gpu-a' });
  assert.deepEqual(f.names(T0 + LOST + 5, RETIRE), ['LLMAgentOffline gpu-a', 'LLMServiceDown gpu-a s']);
  assert.deepEqual(f.names(T0 + RETIRE - 1, RETIRE), ['LLMAgentOffline gpu-a', 'LLMServiceDown gpu-a s']);
  assert.deepEqual(f.names(T0 + RETIRE + 2, RETIRE), []);
  f.hello(T0 + RETIRE + 10, 'gpu-a', ['s']);
  assert.deepEqual(f.names(T0 + RETIRE + 11, RETIRE), ['LLMServiceDown gpu-a s'], 'back: its real state pages again');
});

test('LLMAgentDuplicateId: fires on a duplicate report, for 10 minutes after the last one, beside the service alerts', () => {
  const f = new Fleet().hello(T0, 'gpu-a', ['s']).snapshot(T0, 'gpu-a', { s: 'healthy' });
  assert.deepEqual(f.names(T0 + 1), []);
  f.apply({ type: 'duplicate', at: T0 + 2, agentId: 'gpu-a' });
  const r = f.eval(T0 + 3);
  assert.deepEqual(r.alerts.map(describe), ['LLMAgentDuplicateId gpu-a']);
  assert.deepEqual(r.alerts[0]!.labels, { rack: 'r1', alertname: 'LLMAgentDuplicateId', host: 'gpu-a', severity: 'warning' });
  f.to(T0 + 4, 'gpu-a', 's', 'down');
  assert.deepEqual(f.names(T0 + 5), ['LLMAgentDuplicateId gpu-a', 'LLMServiceDown gpu-a s']);
  f.apply({ type: 'seen', at: T0 + 10 * 60_000, agentId: 'gpu-a' });
  assert.deepEqual(f.names(T0 + 2 + 10 * 60_000 - 1), ['LLMAgentDuplicateId gpu-a', 'LLMServiceDown gpu-a s']);
  assert.deepEqual(f.names(T0 + 2 + 10 * 60_000 + 1), ['LLMServiceDown gpu-a s']);
});
