import type { Dispatcher } from 'undici';
import type { Logger } from '../../shared/logger.js';
import type { Notification } from '../alerts/types.js';

export const RECEIVER_TYPES = ['slack', 'discord', 'email', 'webhook', 'alertmanager'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

/**
 * Outcome of delivering one message. Secrets (webhook URLs, passwords) never appear in
 * `error`: notifiers scrub them (redactUrl) before returning.
 */
export type DeliveryResult =
  | { ok: true; status?: number }
  | {
      ok: false;
      /** false for permanent failures (Discord 404 deleted webhook, 400 over limits, auth refused) */
      retryable: boolean;
      /** the provider told us when to come back (Retry-After header, Discord retry_after) */
      retryAfterMs?: number;
      status?: number;
      error: string;
    };

/**
 * One receiver (docs/states-and-alerts.md `notify[]` entry). `build` is pure: it turns a notification into
 * the provider's messages, each within the provider's limits (Discord: split into several).
 * `deliver` sends exactly one of them. The delivery worker paces calls to `deliver` at
 * `minIntervalMs`, retries retryable failures with backoff, honours retryAfterMs, records
 * progress per message so a restart never sends a message twice. Notifiers know nothing of
 * the database or the fleet.
 */
export interface Notifier<M = unknown> {
  readonly name: string;
  readonly type: ReceiverType;
  /** the provider's published rate, e.g. Slack ~1 message per second per webhook */
  readonly minIntervalMs: number;
  /** per-request timeout */
  readonly timeoutMs: number;
  build(notification: Notification): M[];
  deliver(message: M, signal: AbortSignal): Promise<DeliveryResult>;
  /** where it sends, safe to log (no secrets) */
  describe(): string;
  close?(): Promise<void>;
}

/** What a notifier needs from the composition root (coordinator/main.ts builds them). */
export interface NotifierDeps {
  /** shared keep-alive HTTP dispatcher; undici's global one when absent */
  dispatcher?: Dispatcher;
  logger: Logger;
  /** epoch ms, to read HTTP-date Retry-After values; Date.now when absent */
  now?: () => number;
}
