/**
 * CPU profile of the coordinator process for exactly one measurement window: the
 * coordinator runs with `--inspect=127.0.0.1:PORT` (only when profiling is asked for) and
 * we drive V8's sampling profiler over the inspector protocol (bench/lib/inspector.ts) (Profiler.start / .stop), the
 * same profiler and the same .cpuprofile format as `node --cpu-prof`, but without the
 * connection ramp and shutdown in it. Then: self time per function, per file, and
 * inclusive time of the functions that matter.
 */

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
