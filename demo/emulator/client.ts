/**
 * Client side of the emulator's control routes, for tests and the demo driving an emulator
 * that runs as its own process.
 */
import type { EmulatorKind, EmulatorMode } from './types.js';

export interface RemoteState {
  kind: EmulatorKind;
  mode: EmulatorMode;
  model: string;
  loading: boolean;
  requests: number;
  generations: number;
  pid: number;
  port: number;
}

export async function setRemoteMode(baseUrl: string, mode: EmulatorMode, opts: { delayMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const res = await fetch(new URL('/__emulator/mode', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode, ...(opts.delayMs === undefined ? {} : { delayMs: opts.delayMs }) }),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`emulator at ${baseUrl}: setting mode ${mode} answered ${res.status} ${text}`);
}

export async function getRemoteState(baseUrl: string, timeoutMs = 5000): Promise<RemoteState> {
  const res = await fetch(new URL('/__emulator/state', baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`emulator at ${baseUrl}: state answered ${res.status}`);
  return (await res.json()) as RemoteState;
}
