import type { Notification, NotificationAlert } from '../alerts/types.js';
import { redactUrl } from '../../shared/logger.js';
import { alertNameIfMixed, alertTarget, alertWhen, countsText, moreCount, notificationTitle, oneLine, safeLink, truncate } from './format.js';
import { classifyHttpAnswer, postJson, type HttpAnswer } from './http.js';
import type { DeliveryResult, Notifier, NotifierDeps } from './types.js';

/**
 * Slack incoming webhook: `text` (the notification fallback) plus Block Kit `blocks`.
 * Limits from Slack's docs:
 * - https://api.slack.com/methods/chat.postMessage#truncating (text truncated past 40,000)
 * - https://api.slack.com/reference/block-kit/blocks (50 blocks per message; section text
 *   3000; header text 150; context elements 10)
 * - https://api.slack.com/messaging/webhooks#handling_errors (webhook error strings)
 * - https://api.slack.com/apis/rate-limits (incoming webhooks: 1 message per second, 429
 *   with Retry-After in seconds)
 */
export const SLACK_MAX_TEXT_CHARS = 40_000;
export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_SECTION_TEXT_CHARS = 3000;
export const SLACK_MAX_HEADER_CHARS = 150;
export const SLACK_MIN_INTERVAL_MS = 1000;

/** Our own readability bounds, well inside Slack's. */
export const SLACK_MAX_LISTED_ALERTS = 20;
const SLACK_MAX_ALERT_LINE_CHARS = 500;

export interface SlackTextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}
export type SlackBlock =
  | { type: 'header'; text: SlackTextObject }
  | { type: 'section'; text: SlackTextObject }
  | { type: 'context'; elements: SlackTextObject[] }
  | { type: 'divider' };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Slack mrkdwn needs only these three escaped (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function alertLine(n: Notification, a: NotificationAlert): string {
  const name = alertNameIfMixed(n, a);
  const mark = a.status === 'resolved' ? ':white_check_mark:' : ':red_circle:';
  const head = `${mark} *${escapeSlack(oneLine(alertTarget(a)))}*${name ? ` \`${escapeSlack(oneLine(name))}\`` : ''}`;
  const summary = escapeSlack(oneLine(a.annotations.summary));
  return truncate(`${head} — ${summary} · ${alertWhen(a)}`, SLACK_MAX_ALERT_LINE_CHARS);
}

/** Pure: the one message a notification becomes, within every limit above. */
export function buildSlackMessage(n: Notification): SlackMessage {
  const title = notificationTitle(n);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, SLACK_MAX_HEADER_CHARS), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${countsText(n)}*`, SLACK_MAX_SECTION_TEXT_CHARS) } },
  ];
  const link = safeLink(n.externalUrl);
  // header + counts + "+N more" + link leave the rest for alert sections
  const maxAlertSections = SLACK_MAX_BLOCKS - 4;
  let listed = 0;
  let section = '';
  let sections = 0;
  for (const a of n.alerts.slice(0, SLACK_MAX_LISTED_ALERTS)) {
    const line = alertLine(n, a);
    if (section && section.length + 1 + line.length > SLACK_MAX_SECTION_TEXT_CHARS) {
      if (sections + 1 >= maxAlertSections) break;
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
      sections += 1;
      section = '';
    }
    section = section ? `${section}\n${line}` : line;
    listed += 1;
  }
  if (section) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
  const more = moreCount(n, listed);
  if (more > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `+${more} more` }] });
  // `<url|label>` breaks on `|` and `>` inside the URL; percent-encode them.
  if (link) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${link.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|Open the llm-health dashboard>` } });
  return { text: truncate(title, SLACK_MAX_TEXT_CHARS), blocks };
}

export interface SlackOptions {
  name: string;
  url: string;
  timeoutMs: number;
  minIntervalMs?: number;
}

/**
 * Slack answers webhooks in plain text: `ok`, or an error string with a 4xx. 429 carries
 * Retry-After in seconds; 5xx (`rollup_error`) is Slack's own trouble and worth a retry.
 */
export function classifySlackAnswer(answer: HttpAnswer, nowMs: number, url: string): DeliveryResult {
  // invalid_payload, invalid_blocks, msg_too_long, no_text (400), action_prohibited,
  // invalid_token (403), channel_not_found, no_service (404), channel_is_archived (410):
  // the same message would fail again, so every 4xx but 429 is permanent.
  return classifyHttpAnswer(answer, nowMs, { urls: [url] });
}

export function createSlackNotifier(opts: SlackOptions, deps: NotifierDeps): Notifier<SlackMessage> {
  const now = deps.now ?? Date.now;
  return {
    name: opts.name,
    type: 'slack',
    minIntervalMs: opts.minIntervalMs ?? SLACK_MIN_INTERVAL_MS,
    timeoutMs: opts.timeoutMs,
    build: (n) => [buildSlackMessage(n)],
    async deliver(message, signal) {
      const out = await postJson({ url: opts.url, body: message, timeoutMs: opts.timeoutMs, signal, dispatcher: deps.dispatcher });
      return out.ok ? classifySlackAnswer(out.answer, now(), opts.url) : out.result;
    },
    describe: () => `slack ${redactUrl(opts.url)}`,
  };
}
