import type {
  AckMessage,
  CommandMessage,
  Event,
  EventsMessage,
  GpuMessage,
  HeartbeatMessage,
  HelloMessage,
  ProbesMessage,
  SnapshotMessage,
  WelcomeMessage,
} from '../../shared/protocol/messages.js';

/** One valid instance of every protocol message, for protocol, hub and fuzz tests. */

export const T0 = Date.UTC(2026, 0, 1);
export const iso = (ms: number): string => new Date(ms).toISOString();

export function hello(agentId = 'gpu-a', bootId = 'boot1', services = ['llama', 'qwen']): HelloMessage {
  return {
    type: 'hello',
    v: 1,
    agentId,
    bootId,
    labels: { rack: 'r1', gpu: 'h100' },
    agentVersion: '0.1.0',
    services: services.map((name, i) => ({ name, kind: i % 2 ? 'vllm' : 'llamacpp', url: `http://127.0.0.1:${8001 + i}`, unit: `${name}.service` })),
  };
}

export function event(seq: number, overrides: Partial<Event> = {}): Event {
  return {
    agentId: 'gpu-a',
    bootId: 'boot1',
    seq,
    at: iso(T0 + seq * 1000),
    type: 'state_changed',
    service: 'llama',
    from: 'healthy',
    to: 'down',
    reason: `event ${seq}`,
    ...overrides,
  };
}

export function events(list: Event[]): EventsMessage {
  return { type: 'events', v: 1, events: list };
}

export function snapshot(states: Record<string, string> = { llama: 'healthy', qwen: 'healthy' }, at = T0): SnapshotMessage {
  return {
    type: 'snapshot',
    v: 1,
    services: Object.entries(states).map(([name, state], i) => ({
      name,
      kind: i % 2 ? 'vllm' : 'llamacpp',
      url: `http://127.0.0.1:${8001 + i}`,
      state: state as SnapshotMessage['services'][number]['state'],
      reason: state === 'healthy' ? 'ready' : 'snapshot',
      since: iso(at),
      lastProbe: { ok: state === 'healthy', latencyMs: 12.5, at: iso(at) },
      restarts: { count: 0, lastAt: null, lastOutcome: null },
    })),
    gpu: { at: iso(at), gpus: [{ index: 0, name: 'NVIDIA H100', utilizationPct: 40, memoryUsedMiB: 1000, memoryTotalMiB: 81559, temperatureC: 50, eccUncorrected: 0, throttleReasons: [] }] },
  };
}

export function probes(at = T0): ProbesMessage {
  return { type: 'probes', v: 1, results: [{ service: 'llama', ok: true, state: 'healthy', latencyMs: 8, at: iso(at), servedBy: 'http://127.0.0.1:8001' }], summarized: { dropped: 3 } };
}

export function gpu(at = T0): GpuMessage {
  return { type: 'gpu', v: 1, at: iso(at), gpus: [{ index: 0, name: 'NVIDIA H100', temperatureC: 90, powerW: null, warnings: ['hot'] }] };
}

export function heartbeat(at = T0): HeartbeatMessage {
  return { type: 'heartbeat', v: 1, at: iso(at) };
}

export function welcome(): WelcomeMessage {
  return { type: 'welcome', v: 1, agentId: 'gpu-a', ackedSeq: { bootId: 'boot1', seq: 7 }, limits: { maxPayload: 262144 } };
}

export function ack(): AckMessage {
  return { type: 'ack', v: 1, bootId: 'boot1', seq: 7 };
}

export function command(): CommandMessage {
  return { type: 'command', v: 1, id: 'job1-t1', action: 'restart', service: 'llama' };
}

export const agentSamples = () => [hello(), snapshot(), events([event(1), event(2, { type: 'restart_started', from: undefined, to: undefined, data: { journal: ['a', 'b'], props: { ActiveState: 'failed' } } })]), probes(), gpu(), heartbeat()];
export const coordinatorSamples = () => [welcome(), { ...welcome(), ackedSeq: null }, ack(), heartbeat(), command()];
