import { createTransport } from 'nodemailer';
import type { Notification, NotificationAlert } from '../alerts/types.js';
import type { SmtpConfig } from '../../shared/config/coordinator-config.js';
import { alertTarget, countsText, escapeHtml, moreCount, notificationTitle, oneLine, safeLink, truncate } from './format.js';
import { scrub } from './redact.js';
import type { DeliveryResult, Notifier, NotifierDeps } from './types.js';

/**
 * Email over SMTP with nodemailer (pooled connections, STARTTLS or implicit TLS, AUTH).
 * Subject is Alertmanager's title; bodies are text and HTML with a bounded alert table.
 * SMTP reply codes (RFC 5321 §4.2.1): 4yz transient (retry), 5yz permanent (535: AUTH
 * refused).
 */

/** Alerts listed in one mail (the notification carries at most MAX_SAMPLE_ALERTS anyway). */
export const EMAIL_MAX_LISTED_ALERTS = 50;
/** RFC 5322 §2.1.1 asks lines of at most 78 characters; subjects get folded, but keep them short. */
export const EMAIL_MAX_SUBJECT_CHARS = 200;
const EMAIL_MAX_DESCRIPTION_CHARS = 1000;
/** Mail clients ignore <style>; cells carry their own. */
const CELL_STYLE = 'padding:4px 8px;border-bottom:1px solid #ddd';

export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** stable per notification and part, so a retried send is recognisably the same mail */
  messageId: string;
}

export interface EmailContent {
  from: string;
  to: readonly string[];
  subjectPrefix?: string;
}

function messageDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return m ? m[1]!.toLowerCase() : 'llm-health.invalid';
}

function describeAlert(a: NotificationAlert): { when: string; description: string } {
  return {
    when: a.status === 'resolved' && a.endsAt ? `resolved ${a.endsAt}` : `since ${a.startsAt}`,
    description: truncate(a.annotations.description.trim(), EMAIL_MAX_DESCRIPTION_CHARS),
  };
}

/** Pure: one mail per notification. */
export function buildEmailMessage(n: Notification, content: EmailContent): EmailMessage {
  const title = notificationTitle(n);
  const subject = truncate(oneLine(`${content.subjectPrefix ?? ''}${title}`), EMAIL_MAX_SUBJECT_CHARS);
  const listed = n.alerts.slice(0, EMAIL_MAX_LISTED_ALERTS);
  const more = moreCount(n, listed.length);
  const link = safeLink(n.externalUrl);

  const text: string[] = [title, '', countsText(n), ''];
  for (const a of listed) {
    const { when, description } = describeAlert(a);
    text.push(`[${a.status}] ${a.labels.alertname ?? ''} ${alertTarget(a)}`.replace(/\s+/g, ' ').trim());
    text.push(`  ${oneLine(a.annotations.summary)}`);
    if (description) text.push(...description.split(/\r?\n/).map((l) => `  ${l}`));
    text.push(`  ${when}`, '');
  }
  if (more > 0) text.push(`+${more} more`, '');
  if (link) text.push(`Dashboard: ${link}`);

  const rows = listed.map((a) => {
    const { when, description } = describeAlert(a);
    const cells = [a.status, a.labels.alertname ?? '', a.labels.host ?? '', a.labels.service ?? '', oneLine(a.annotations.summary), when];
    const desc = description ? `<br><small>${escapeHtml(description).replace(/\r?\n/g, '<br>')}</small>` : '';
    return `<tr>${cells.map((c, i) => `<td style="${CELL_STYLE}">${escapeHtml(c)}${i === 4 ? desc : ''}</td>`).join('')}</tr>`;
  });
  const colour = n.status === 'firing' ? '#e01e5a' : '#2eb67d';
  const html = [
    '<!DOCTYPE html>',
    '<html><body style="font-family:sans-serif">',
    `<h2 style="color:${colour}">${escapeHtml(title)}</h2>`,
    `<p>${escapeHtml(countsText(n))}</p>`,
    '<table style="border-collapse:collapse">',
    '<thead><tr><th align="left">Status</th><th align="left">Alert</th><th align="left">Host</th><th align="left">Service</th><th align="left">Summary</th><th align="left">When</th></tr></thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
    more > 0 ? `<p>+${more} more</p>` : '',
    link ? `<p><a href="${escapeHtml(link)}">Open the llm-health dashboard</a></p>` : '',
    '</body></html>',
  ]
    .filter((l) => l !== '')
    .join('\n');

  const id = n.id.replace(/[^A-Za-z0-9._-]/g, '_');
  return {
    from: content.from,
    to: [...content.to],
    subject,
    text: text.join('\n').trimEnd() + '\n',
    html,
    messageId: `<${id}@${messageDomain(content.from)}>`,
  };
}

/** nodemailer error codes for failures before the server said anything: worth a retry. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * A reply code decides when there is one (4yz retry, 5yz final); otherwise connection
 * trouble is retried and configuration trouble (EAUTH without a reply, ETLS when
 * requireTLS finds no STARTTLS, EENVELOPE, EMESSAGE) is final.
 */
export function classifySmtpError(err: unknown, secrets: (string | undefined)[]): DeliveryResult & { ok: false } {
  const e = err as Error & { code?: string; responseCode?: number; response?: string };
  const rc = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  let retryable: boolean;
  if (rc !== undefined && rc >= 400 && rc < 500) retryable = true;
  else if (rc !== undefined && rc >= 500) retryable = false;
  else retryable = e.code === undefined || TRANSIENT_CODES.has(e.code);
  const error = scrub(`${e.code ?? e.name}${rc !== undefined ? ` ${rc}` : ''}: ${e.message}`.replace(/\s+/g, ' ').trim(), { values: secrets });
  return { ok: false, retryable, ...(rc !== undefined ? { status: rc } : {}), error };
}

export interface EmailOptions extends EmailContent {
  name: string;
  smtp: SmtpConfig;
  timeoutMs: number;
  minIntervalMs?: number;
}

export function createEmailNotifier(opts: EmailOptions, deps: NotifierDeps): Notifier<EmailMessage> {
  const { smtp } = opts;
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ignoreTLS: smtp.ignoreTLS,
    ...(smtp.tls ? { tls: { ...smtp.tls } } : {}),
    ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: smtp.auth.pass } } : {}),
    // `pool: false` gives a one-connection-per-mail transport; the typings only model `true`
    pool: smtp.pool as true,
    maxConnections: smtp.maxConnections,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    dnsTimeout: opts.timeoutMs,
    logger: false,
  });
  const pass = smtp.auth?.pass;
  const secrets = [pass, pass !== undefined && smtp.auth ? `\u0000${smtp.auth.user}\u0000${pass}` : undefined];
  let closed = false;
  return {
    name: opts.name,
    type: 'email',
    minIntervalMs: opts.minIntervalMs ?? 0,
    timeoutMs: opts.timeoutMs,
    build: (n) => [buildEmailMessage(n, opts)],
    async deliver(message, signal) {
      if (closed) return { ok: false, retryable: true, error: 'notifier closed' };
      if (signal.aborted) return { ok: false, retryable: true, error: 'aborted' };
      let onAbort: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const send = transport.sendMail({ ...message }).then(
        (info): DeliveryResult => {
          const rejected = (info as { rejected?: unknown[] }).rejected ?? [];
          if (rejected.length > 0) deps.logger.warn({ receiver: opts.name, rejected: rejected.length }, 'some recipients were refused');
          return { ok: true };
        },
        (err: unknown) => classifySmtpError(err, secrets),
      );
      // nodemailer takes no AbortSignal, and its timeouts are per step: bound the whole send.
      // A send cut off here may still complete; delivery is at least once, as for HTTP.
      const cut = new Promise<DeliveryResult>((resolve) => {
        onAbort = () => resolve({ ok: false, retryable: true, error: 'aborted' });
        signal.addEventListener('abort', onAbort, { once: true });
        timer = setTimeout(() => resolve({ ok: false, retryable: true, error: `timed out after ${opts.timeoutMs * 3}ms` }), opts.timeoutMs * 3);
      });
      try {
        return await Promise.race([send, cut]);
      } finally {
        clearTimeout(timer);
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
    describe: () => `email smtp://${smtp.host}:${smtp.port} to ${opts.to.length} recipient(s)`,
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}
