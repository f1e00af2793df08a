/**
 * Messages between the coordinator-scale orchestrator (bench/coordinator-scale.ts) and its
 * load processes (bench/scale/load-worker.ts), over the Node IPC channel. Requests carry an
 * id; every request gets exactly one reply with the same id.
 */
import type { SimCounters } from '../lib/sim-agent.js';

export interface WorkerInit {
  /** ws://127.0.0.1:PORT/agent */
  url: string;
  token: string;
  /** this load process's index; agent ids are `scale-w<index>-<n>` */
  index: number;
  /** seconds between two events of one agent (20: 1 in 20 agents emits one each second) */
  eventEverySec: number;
  /** seconds between two agent heartbeats (the real agent's default: 10) */
  heartbeatEverySec: number;
  /** services per agent (4) */
  services: number;
}

export type WorkerRequest =
  | { id: number; type: 'init'; init: WorkerInit }
  /** grow to `count` agents at `perSecond` new connections per second (never shrinks) */
  | { id: number; type: 'target'; count: number; perSecond: number }
  | { id: number; type: 'status' }
  | { id: number; type: 'windowStart' }
  | { id: number; type: 'windowEnd' }
  /** close every socket with 1000 and stop the scheduler */
  | { id: number; type: 'shutdown' };

/** The process's agents' connection outcomes (bench/lib/sim-agent.ts counts them), and more. */
export interface WorkerStatus extends Omit<SimCounters, 'welcomes'> {
  /** agents created (connecting, connected or reconnecting) */
  agents: number;
  /** agents whose connection got its `welcome` and is open now */
  ready: number;
  /** welcomes received, reconnects included */
  everReady: number;
  /** frames from the coordinator that failed parseCoordinatorMessage */
  invalidFrames: number;
  /** events sent and not acknowledged yet, over all agents */
  unacked: number;
  /** age of the oldest unacknowledged event, ms */
  oldestUnackedMs: number;
}

export interface WindowStats {
  wallMs: number;
  /** `probes` messages sent in the window, and the results they carried */
  probeMessages: number;
  probeResults: number;
  eventsSent: number;
  eventsAcked: number;
  heartbeatsSent: number;
  /** ack receipt − event send time, ms, for every event acknowledged in the window */
  lagMs: number[];
  /** when each of those acks arrived, ms after the window started (same order as lagMs) */
  lagAtMs: number[];
  /** when each coordinator `heartbeat` message arrived, ms after the window started */
  coordinatorHeartbeatAtMs: number[];
  /** acks and heartbeats received */
  acksReceived: number;
  coordinatorHeartbeats: number;
  /** scheduler slots (10 ms each) run more than 20 ms late, and slots skipped (over 1 s late: those agents sent nothing that second) */
  lateSlots: number;
  droppedSlots: number;
  /** this process's event-loop delay (perf_hooks histogram), ms */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** this process's own CPU over the window (process.cpuUsage), % of one core */
  cpuPercent: number;
  /** largest ws.bufferedAmount seen on one socket at send time */
  maxBufferedBytes: number;
  status: WorkerStatus;
}

export type WorkerReply =
  | { id: number; ok: true; status?: WorkerStatus; window?: WindowStats }
  | { id: number; ok: false; error: string };

/** Unsolicited: the worker is loaded and listening for requests. */
export interface WorkerHello {
  type: 'workerReady';
  pid: number;
}
