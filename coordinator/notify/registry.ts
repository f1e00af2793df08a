import type { NotifierConfig } from '../../shared/config/coordinator-config.js';
import { createAlertmanagerNotifier } from './alertmanager.js';
import { createDiscordNotifier } from './discord.js';
import { createEmailNotifier } from './email.js';
import { createSlackNotifier } from './slack.js';
import type { Notifier, NotifierDeps, ReceiverType } from './types.js';
import { createWebhookNotifier } from './webhook.js';

/**
 * One line per receiver type. `satisfies` makes a new ReceiverType without a factory a
 * compile error (Gatus' per-provider assertion, Alertmanager's receiver registry).
 */
export type NotifierFactory = (cfg: NotifierConfig, deps: NotifierDeps) => Notifier;

export const notifierFactories = {
  slack: (cfg, deps) => createSlackNotifier({ name: cfg.name, url: need(cfg, 'url'), timeoutMs: cfg.timeout, minIntervalMs: cfg.minInterval }, deps),
  discord: (cfg, deps) => createDiscordNotifier({ name: cfg.name, url: need(cfg, 'url'), timeoutMs: cfg.timeout, minIntervalMs: cfg.minInterval }, deps),
  email: (cfg, deps) =>
    createEmailNotifier(
      { name: cfg.name, smtp: need(cfg, 'smtp'), from: need(cfg, 'from'), to: need(cfg, 'to'), subjectPrefix: cfg.subjectPrefix, timeoutMs: cfg.timeout, minIntervalMs: cfg.minInterval },
      deps,
    ),
  webhook: (cfg, deps) => createWebhookNotifier({ name: cfg.name, url: need(cfg, 'url'), headers: cfg.headers, timeoutMs: cfg.timeout, minIntervalMs: cfg.minInterval }, deps),
  alertmanager: (cfg, deps) => createAlertmanagerNotifier({ name: cfg.name, url: need(cfg, 'url'), headers: cfg.headers, timeoutMs: cfg.timeout, minIntervalMs: cfg.minInterval }, deps),
} satisfies Record<ReceiverType, NotifierFactory>;

export function createNotifier(cfg: NotifierConfig, deps: NotifierDeps): Notifier {
  return notifierFactories[cfg.type](cfg, deps) as Notifier;
}

/** The config loader already requires these per type; this guards hand-built configs. */
function need<K extends 'url' | 'smtp' | 'from' | 'to'>(cfg: NotifierConfig, key: K): NonNullable<NotifierConfig[K]> {
  const v = cfg[key];
  if (v === undefined || v === null) throw new TypeError(`receiver ${JSON.stringify(cfg.name)} (type ${cfg.type}) needs ${key}`);
  return v as NonNullable<NotifierConfig[K]>;
}
