export { DeliveryService, DEFAULT_STOP_GRACE_MS, type DeliveryServiceOptions, type ReceiverStatus } from './service.js';
export { DeliveryWorker, type DeliveryWorkerOptions, type OutcomeHook, type WorkerState, type WorkerStatus } from './worker.js';
export * from './retry.js';
export { SilenceCache } from './silence-cache.js';
