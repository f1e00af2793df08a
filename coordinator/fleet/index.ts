export * from './types.js';
export { reduceFleet, fleetFromAgents, EMPTY_FLEET } from './reduce.js';
export { fleetView, isOffline, OFFLINE_REASON } from './view.js';
export { FleetTracker, type FleetListener } from './tracker.js';
