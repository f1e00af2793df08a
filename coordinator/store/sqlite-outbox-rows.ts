import type { Notification, NotificationLogEntry } from '../alerts/types.js';
import type { DeliveryLogEntry, DeliveryOutcome, OutboxEntry, OutboxState, OutboxSummary } from './outbox-store.js';

/** Rows of the notification path's tables (schema step 2) and their mapping to the store's types. */

export interface OutboxRow {
  id: string;
  receiver: string;
  group_key: string;
  status: string;
  notification?: string;
  messages?: string;
  message_count: number;
  next_message: number;
  attempts: number;
  next_attempt_at: number;
  state: string;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface LogRow {
  receiver: string;
  group_key: string;
  firing: string;
  resolved: string;
  sent_at: number;
}

export interface DeliveryRow {
  id: number;
  receiver: string;
  notification_id: string;
  message_index: number;
  outcome: string;
  status: number | null;
  error: string | null;
  at: number;
}

/** Every outbox column but the notification and its messages. */
export const SUMMARY_COLUMNS = 'id, receiver, group_key, status, message_count, next_message, attempts, next_attempt_at, state, last_error, created_at, updated_at';

export function toLogEntry(r: LogRow): NotificationLogEntry {
  return { receiver: r.receiver, groupKey: r.group_key, firing: JSON.parse(r.firing) as string[], resolved: JSON.parse(r.resolved) as string[], sentAt: r.sent_at };
}

export function toSummary(r: OutboxRow): OutboxSummary {
  return {
    id: r.id,
    receiver: r.receiver,
    groupKey: r.group_key,
    status: r.status as Notification['status'],
    messageCount: r.message_count,
    nextMessage: r.next_message,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    state: r.state as OutboxState,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toEntry(r: OutboxRow): OutboxEntry {
  return { ...toSummary(r), notification: JSON.parse(r.notification!) as Notification, messages: JSON.parse(r.messages!) as unknown[] };
}

export function toDelivery(r: DeliveryRow): DeliveryLogEntry {
  return {
    id: r.id,
    receiver: r.receiver,
    notificationId: r.notification_id,
    messageIndex: r.message_index,
    outcome: r.outcome as DeliveryOutcome,
    status: r.status,
    error: r.error,
    at: r.at,
  };
}
