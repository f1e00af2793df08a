/**
 * CPU profile of the coordinator process for exactly one measurement window: the
 * coordinator runs with `--inspect=127.0.0.1:PORT` (only when profiling is asked for) and
 * we drive V8's sampling profiler over the inspector protocol (Profiler.start / .stop), the
 * same profiler and the same .cpuprofile format as `node --cpu-prof`, but without the
 * connection ramp and shutdown in it. Then: self time per function, per file, and
 * inclusive time of the functions that matter.
 */
import WebSocket from 'ws';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  hitCount?: number;
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export class InspectorProfiler {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error.message));
      else w.resolve(msg.result);
    });
  }

  /** Connects to the first target of the inspector listening on `port`. */
  static async connect(port: number): Promise<InspectorProfiler> {
    const deadline = Date.now() + 10_000;
    let targets: { webSocketDebuggerUrl: string }[] = [];
    for (;;) {
      try {
        targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as typeof targets;
        if (targets.length) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new InspectorProfiler(ws);
  }

  private call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(samplingIntervalUs = 1000): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await this.call('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.call<{ profile: CpuProfile }>('Profiler.stop');
    await this.call('Profiler.disable');
    return profile;
  }

  close(): void {
    this.ws.close();
  }
}

export interface ProfileRow {
  name: string;
  ms: number;
  /** share of all sampled time (idle included) */
  pctOfWall: number;
  /** share of non-idle time */
  pctOfBusy: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  topSelf: ProfileRow[];
  byFile: ProfileRow[];
  /** inclusive (self + callees) time of a few functions the report is about */
  inclusive: ProfileRow[];
}

/** Where a frame lives, short: node_modules/<pkg>, dist/<path>, node:<module>, or V8's (program) etc. */
function fileOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `node_modules/${nm[1]}`;
  const dist = /\/dist\/(.*)$/.exec(url);
  if (dist) return dist[1]!;
  return url.replace(/^file:\/\//, '');
}

function frameKey(n: CpuProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = fileOf(url, functionName);
  return url ? `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}` : functionName || '(anonymous)';
}

/**
 * Self time: each sample is charged the time until the next sample (V8's timeDeltas are
 * the gaps before each sample). Inclusive time of a function: every sample with the
 * function anywhere on its stack, counted once per sample.
 */
export function summarizeProfile(profile: CpuProfile, inclusiveOf: readonly string[], top = 25): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const weight = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  const mean = weight.length ? weight.reduce((a, b) => a + b, 0) / weight.length : 0;
  if (weight.length) weight[weight.length - 1] = mean;

  const selfByNode = new Map<number, number>();
  profile.samples.forEach((id, i) => selfByNode.set(id, (selfByNode.get(id) ?? 0) + weight[i]!));

  const self = new Map<string, number>();
  const files = new Map<string, number>();
  let wall = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, us] of selfByNode) {
    const n = byId.get(id)!;
    wall += us;
    if (n.callFrame.functionName === '(idle)') idle += us;
    if (n.callFrame.functionName === '(garbage collector)') gc += us;
    const key = frameKey(n);
    self.set(key, (self.get(key) ?? 0) + us);
    const file = fileOf(n.callFrame.url, n.callFrame.functionName);
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const busy = wall - idle;

  // inclusive: walk each sample's stack once
  const wanted = new Set(inclusiveOf);
  const incl = new Map<string, number>();
  const stackNames = new Map<number, Set<string>>();
  const namesOnStack = (id: number): Set<string> => {
    let s = stackNames.get(id);
    if (s) return s;
    const n = byId.get(id)!;
    const p = parent.get(id);
    s = new Set(p === undefined ? [] : namesOnStack(p));
    if (wanted.has(n.callFrame.functionName)) s.add(n.callFrame.functionName);
    stackNames.set(id, s);
    return s;
  };
  profile.samples.forEach((id, i) => {
    for (const name of namesOnStack(id)) incl.set(name, (incl.get(name) ?? 0) + weight[i]!);
  });

  const rows = (m: Map<string, number>, limit: number): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, pctOfWall: wall ? (us / wall) * 100 : 0, pctOfBusy: busy ? (us / busy) * 100 : 0 }));
  return {
    wallMs: wall / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    gcMs: gc / 1000,
    topSelf: rows(self, top),
    byFile: rows(files, 15),
    inclusive: rows(incl, inclusiveOf.length),
  };
}
