import type { Notification, NotificationLogEntry, Silence } from '../../../../coordinator/alerts/types.js';
import type { Event } from '../../../../shared/protocol/messages.js';
import { T0 } from '../../protocol-samples.js';

export const seqs = (list: Event[]) => list.map((e) => `${e.bootId}:${e.seq}`);

export function notification(id: string, over: Partial<Notification> = {}): Notification {
  return {
    id,
    receiver: 'ops-slack',
    groupKey: '{}:{alertname="LLMServiceDown"}',
    groupLabels: { alertname: 'LLMServiceDown' },
    commonLabels: { alertname: 'LLMServiceDown', severity: 'critical' },
    status: 'firing',
    firingCount: 1,
    resolvedCount: 0,
    alerts: [],
    truncatedAlerts: 0,
    externalUrl: 'http://127.0.0.1:7700/',
    createdAt: new Date(T0).toISOString(),
    ...over,
  };
}

export function logEntry(n: Notification, sentAt = T0, firing = ['fp1']): NotificationLogEntry {
  return { receiver: n.receiver, groupKey: n.groupKey, firing, resolved: [], sentAt };
}

export const MESSAGES = [{ text: 'part 1' }, { text: 'part 2' }, { text: 'part 3' }];

export function silence(id: string, startsAt: number, endsAt: number): Silence {
  return {
    id,
    matchers: [
      { name: 'service', value: 'qwen-vl', isRegex: false, isEqual: true },
      { name: 'host', value: 'gpu-.*', isRegex: true, isEqual: true },
    ],
    startsAt,
    endsAt,
    createdBy: 'alice',
    comment: 'driver upgrade',
    createdAt: T0,
    updatedAt: T0,
  };
}
