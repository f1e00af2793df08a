import type { Clock } from '../../shared/clock.js';
import { EMPTY_FLEET, reduceFleet } from './reduce.js';
import type { FleetInput, FleetState, FleetView } from './types.js';
import { fleetView, isOffline } from './view.js';

export type FleetListener = (input: FleetInput, next: FleetState, prev: FleetState) => void;

/**
 * The one mutable holder of fleet state, created by the composition root. Inputs go
 * through the pure reducer; listeners (the live feed and alert pipeline, later) see every
 * input with the states before and after it.
 */
export class FleetTracker {
  private current: FleetState;
  private readonly listeners = new Set<FleetListener>();

  constructor(
    private readonly clock: Clock,
    private readonly agentLostAfter: number,
    initial: FleetState = EMPTY_FLEET,
  ) {
    this.current = initial;
  }

  get state(): FleetState {
    return this.current;
  }

  apply(input: FleetInput): void {
    const prev = this.current;
    const next = reduceFleet(prev, input);
    if (next === prev) return;
    this.current = next;
    for (const l of this.listeners) l(input, next, prev);
  }

  view(): FleetView {
    return fleetView(this.current, this.clock.now(), this.agentLostAfter);
  }

  /** Declares agents silent for `agentLostAfter` lost; returns their ids. Run on a timer. */
  sweep(): string[] {
    const now = this.clock.now();
    const lost: string[] = [];
    for (const h of this.current.hosts.values()) {
      if (!h.lost && h.lastSeen !== null && isOffline(h, now, this.agentLostAfter)) lost.push(h.id);
    }
    for (const agentId of lost) this.apply({ type: 'agentLost', at: now, agentId });
    return lost;
  }

  /** Returns an unsubscribe function. */
  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
