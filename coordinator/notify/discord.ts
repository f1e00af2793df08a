import type { Notification, NotificationAlert } from '../alerts/types.js';
import { redactUrl } from '../../shared/logger.js';
import { alertNameIfMixed, alertTarget, countsText, moreCount, notificationTitle, oneLine, safeLink, truncate } from './format.js';
import { classifyHttpAnswer, parseRetryAfter, postJson, type HttpAnswer } from './http.js';
import type { DeliveryResult, Notifier, NotifierDeps } from './types.js';

/**
 * Discord webhook with embeds. Discord answers 400 to a message over any of these limits,
 * and a 400 is final, so `build` splits a notification into as many messages as it takes.
 * - https://discord.com/developers/docs/resources/webhook#execute-webhook (content 2000,
 *   up to 10 embeds)
 * - https://discord.com/developers/docs/resources/message#embed-object-embed-limits (title
 *   256, description 4096, 25 fields, field name 256, field value 1024, footer 2048, and
 *   6000 characters across all embeds of one message)
 * - https://discord.com/developers/docs/topics/rate-limits (429 with `retry_after` in
 *   seconds, a float, in the JSON body; webhooks allow about 30 messages a minute per channel)
 */
export const DISCORD_MAX_CONTENT_CHARS = 2000;
export const DISCORD_MAX_EMBEDS = 10;
export const DISCORD_MAX_EMBED_TITLE_CHARS = 256;
export const DISCORD_MAX_EMBED_DESCRIPTION_CHARS = 4096;
export const DISCORD_MAX_EMBED_FIELDS = 25;
export const DISCORD_MAX_FIELD_NAME_CHARS = 256;
export const DISCORD_MAX_FIELD_VALUE_CHARS = 1024;
export const DISCORD_MAX_FOOTER_CHARS = 2048;
export const DISCORD_MAX_EMBED_TOTAL_CHARS = 6000;
/** 30 messages a minute per channel. */
export const DISCORD_MIN_INTERVAL_MS = 2000;

/** Our own readability bound for one alert's field value, inside Discord's 1024. */
const DISCORD_ALERT_VALUE_CHARS = 400;
const COLOR_FIRING = 0xe01e5a;
const COLOR_RESOLVED = 0x2eb67d;

export interface DiscordField {
  name: string;
  value: string;
  inline?: boolean;
}
export interface DiscordEmbed {
  title?: string;
  description?: string;
  url?: string;
  color?: number;
  timestamp?: string;
  fields?: DiscordField[];
  footer?: { text: string };
}
export interface DiscordMessage {
  content: string;
  embeds: DiscordEmbed[];
  /** alert text is not trusted to ping @everyone */
  allowed_mentions: { parse: [] };
}

/** Characters Discord counts toward the 6000 per message. */
export function embedChars(e: DiscordEmbed): number {
  let n = (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0);
  for (const f of e.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

/** `<t:…:R>` renders as "5 minutes ago" in the reader's locale. */
function discordTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `<t:${Math.floor(ms / 1000)}:R>`;
}

function alertField(n: Notification, a: NotificationAlert): DiscordField {
  const name = alertNameIfMixed(n, a);
  const mark = a.status === 'resolved' ? '✅' : '🔴';
  const when = a.status === 'resolved' && a.endsAt ? `resolved ${discordTime(a.endsAt)}` : `since ${discordTime(a.startsAt)}`;
  const lines = [oneLine(a.annotations.summary), a.annotations.description.trim()].filter((l) => l !== '');
  // the time goes first so that a long description, cut short, never loses it
  return {
    name: truncate(oneLine(`${mark} ${alertTarget(a)}${name ? ` · ${name}` : ''}`), DISCORD_MAX_FIELD_NAME_CHARS),
    value: truncate([when, ...lines].join('\n'), Math.min(DISCORD_ALERT_VALUE_CHARS, DISCORD_MAX_FIELD_VALUE_CHARS)),
  };
}

/**
 * Pure: one or more messages, each within every limit above. The first message opens with
 * a summary embed; the alerts follow as fields, 25 to an embed, 10 embeds or 6000
 * characters to a message; "+N more" goes in the last embed's footer.
 */
export function buildDiscordMessages(n: Notification): DiscordMessage[] {
  const title = notificationTitle(n);
  const color = n.status === 'firing' ? COLOR_FIRING : COLOR_RESOLVED;
  const link = safeLink(n.externalUrl);
  const more = moreCount(n, n.alerts.length);
  const footer = more > 0 ? { text: truncate(`+${more} more`, DISCORD_MAX_FOOTER_CHARS) } : undefined;
  const reserve = footer?.text.length ?? 0;

  const head: DiscordEmbed = {
    title: truncate(title, DISCORD_MAX_EMBED_TITLE_CHARS),
    description: truncate(`**${countsText(n)}**${link ? `\n[Open the llm-health dashboard](${link})` : ''}`, DISCORD_MAX_EMBED_DESCRIPTION_CHARS),
    ...(link ? { url: link } : {}),
    color,
    timestamp: n.createdAt,
  };
  const messages: DiscordEmbed[][] = [[head]];
  let total = embedChars(head);
  const startMessage = (): DiscordEmbed => {
    const e: DiscordEmbed = { title: truncate(`${title} (continued)`, DISCORD_MAX_EMBED_TITLE_CHARS), color, fields: [] };
    messages.push([e]);
    total = embedChars(e);
    return e;
  };

  for (const field of n.alerts.map((a) => alertField(n, a))) {
    const size = field.name.length + field.value.length;
    const embeds = messages[messages.length - 1]!;
    let embed = embeds[embeds.length - 1]!;
    if (total + size + reserve > DISCORD_MAX_EMBED_TOTAL_CHARS) {
      embed = startMessage();
    } else if (embed === head || (embed.fields?.length ?? 0) >= DISCORD_MAX_EMBED_FIELDS) {
      if (embeds.length >= DISCORD_MAX_EMBEDS) {
        embed = startMessage();
      } else {
        embed = { color, fields: [] };
        embeds.push(embed);
      }
    }
    (embed.fields ??= []).push(field);
    total += size;
  }
  if (footer) {
    const last = messages[messages.length - 1]!;
    last[last.length - 1]!.footer = footer;
  }

  const k = messages.length;
  return messages.map((embeds, i) => {
    const suffix = k > 1 ? ` (${i + 1}/${k})` : '';
    return { content: truncate(title, DISCORD_MAX_CONTENT_CHARS - suffix.length) + suffix, embeds, allowed_mentions: { parse: [] } };
  });
}

/**
 * Discord: 204 delivered; 429 with `retry_after` (seconds, float) in the body and
 * Retry-After (whole seconds) in the headers; 404 "Unknown Webhook" (10015) when the webhook
 * was deleted and 401 for a bad token: final; 400 "Invalid Form Body" (50035): final.
 */
export function classifyDiscordAnswer(answer: HttpAnswer, nowMs: number, url: string): DeliveryResult {
  const result = classifyHttpAnswer(answer, nowMs, { urls: [url] });
  if (result.ok || answer.status !== 429) return result;
  let retryAfterMs = result.retryAfterMs;
  try {
    const body = JSON.parse(answer.body) as { retry_after?: unknown };
    if (typeof body.retry_after === 'number' && Number.isFinite(body.retry_after) && body.retry_after >= 0) retryAfterMs = Math.ceil(body.retry_after * 1000);
  } catch {
    // not JSON (a proxy's page): the header is all there is
  }
  if (retryAfterMs === undefined) retryAfterMs = parseRetryAfter(answer.headers['x-ratelimit-reset-after'], nowMs);
  return { ...result, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

export interface DiscordOptions {
  name: string;
  url: string;
  timeoutMs: number;
  minIntervalMs?: number;
}

export function createDiscordNotifier(opts: DiscordOptions, deps: NotifierDeps): Notifier<DiscordMessage> {
  const now = deps.now ?? Date.now;
  return {
    name: opts.name,
    type: 'discord',
    minIntervalMs: opts.minIntervalMs ?? DISCORD_MIN_INTERVAL_MS,
    timeoutMs: opts.timeoutMs,
    build: buildDiscordMessages,
    async deliver(message, signal) {
      const out = await postJson({ url: opts.url, body: message, timeoutMs: opts.timeoutMs, signal, dispatcher: deps.dispatcher });
      return out.ok ? classifyDiscordAnswer(out.answer, now(), opts.url) : out.result;
    },
    describe: () => `discord ${redactUrl(opts.url)}`,
  };
}
