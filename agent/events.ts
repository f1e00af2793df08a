import { nanoid } from 'nanoid';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { fitEvent } from '../shared/protocol/fit.js';
import type { EventType } from '../shared/protocol/constants.js';
import type { Event as WireEvent } from '../shared/protocol/messages.js';

/** An event as the agent numbers, logs, spools and sends it: the protocol's own shape. */
export type AgentEvent = WireEvent;
export type AgentEventType = EventType;

export type EventInput = Omit<AgentEvent, 'agentId' | 'bootId' | 'seq' | 'at'>;

export interface EventSink {
  /** Called in sequence order, synchronously, for every event. */
  accept(event: AgentEvent): void;
}

/**
 * Numbers events per agent boot: (agentId, bootId, seq) identifies an event forever, which
 * is what lets the coordinator store each exactly once. Sinks (the log, the link's spool)
 * see every event in order.
 */
export class EventLog {
  readonly bootId: string;
  private seq = 0;
  private readonly sinks: EventSink[] = [];

  constructor(
    readonly agentId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: { bootId?: string } = {},
  ) {
    this.bootId = options.bootId ?? nanoid(12);
  }

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  get lastSeq(): number {
    return this.seq;
  }

  emit(input: EventInput): AgentEvent {
    const event = fitEvent({ agentId: this.agentId, bootId: this.bootId, seq: ++this.seq, at: new Date(this.clock.now()).toISOString(), ...input });
    // Sinks first: the link's spool is what the coordinator's copy depends on, and an agent
    // killed between the two writes must not leave an event that was logged but never spooled.
    for (const sink of this.sinks) {
      try {
        sink.accept(event);
      } catch (err) {
        // a sink's trouble must not stop the caller (a probe round, a restart) nor the log line
        this.logger.error({ err: (err as Error)?.message, seq: event.seq }, 'an event sink failed');
      }
    }
    // One JSON log line per event: the agent's own durable record, also in standalone mode.
    const level = input.type === 'restart_failed' || input.type === 'gave_up' || input.type === 'gap' ? 'warn' : 'info';
    this.logger[level]({ event }, `${input.service ? `${input.service}: ` : ''}${describeEvent(event)}`);
    return event;
  }
}

export function describeEvent(e: AgentEvent): string {
  switch (e.type) {
    case 'state_changed':
      return `${e.from} -> ${e.to}: ${e.reason}`;
    default:
      return `${e.type}: ${e.reason}`;
  }
}
