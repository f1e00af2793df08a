import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification, NotificationAlert } from '../../coordinator/alerts/types.js';

/**
 * Loopback stand-ins for Slack, Discord and a generic webhook that behave like the real
 * providers where it matters to a notifier: they enforce the published payload limits and
 * answer oversize payloads with the provider's own error, answer 429 with Retry-After /
 * retry_after, can be slow, can be deleted (404), can refuse connections and come back on
 * the same port. Every accepted payload is recorded with its arrival time.
 */

export interface Received {
  /** Date.now() at arrival */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Rejection {
  at: number;
  status: number;
  body: string;
}

export interface FakeReceiver {
  readonly port: number;
  /** full webhook URL, secret path included */
  readonly url: string;
  /** the secret part of the URL path */
  readonly secret: string;
  readonly received: Received[];
  /** requests answered with anything but success (limits, 429, 404, injected failures) */
  readonly rejected: Rejection[];
  /** answer 429 to the next `count` requests, telling the client to wait `retryAfterSeconds` */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  /** answer `status` with `body` to the next `count` requests */
  failNext(count: number, status: number, body?: string, headers?: Record<string, string>): void;
  /** hold every answer this long */
  setDelay(ms: number): void;
  /** the webhook was deleted in the provider's UI: 404 from now on */
  deleteWebhook(): void;
  /** close the listening socket: connections are refused */
  refuse(): Promise<void>;
  /** listen again on the same port */
  restore(): Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Answer = { status: number; body: string; headers?: Record<string, string> };
type Validate = (body: unknown) => Answer | undefined;

interface Flavour {
  path: (secret: string) => string;
  ok: Answer;
  deleted: Answer;
  rateLimited: (seconds: number) => Answer;
  badJson: Answer;
  validate: Validate;
}

const MAX_BODY_BYTES = 1024 * 1024;

async function startReceiver(flavour: Flavour, secret: string): Promise<FakeReceiver> {
  const received: Received[] = [];
  const rejected: Rejection[] = [];
  const injected: Answer[] = [];
  let delayMs = 0;
  let deleted = false;
  let server: Server | null = null;
  let port = 0;
  const path = flavour.path(secret);

  const answer = (res: ServerResponse, a: Answer, accepted: boolean) => {
    if (!accepted) rejected.push({ at: Date.now(), status: a.status, body: a.body });
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(a.status, { 'content-type': a.body.startsWith('{') ? 'application/json' : 'text/plain', ...a.headers });
      res.end(a.body);
    };
    if (delayMs > 0) setTimeout(send, delayMs).unref();
    else send();
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== path || deleted) return answer(res, flavour.deleted, false);
      const inj = injected.shift();
      if (inj) return answer(res, inj, false);
      if (size > MAX_BODY_BYTES) return answer(res, { status: 413, body: 'request entity too large' }, false);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(res, flavour.badJson, false);
      }
      const invalid = flavour.validate(body);
      if (invalid) return answer(res, invalid, false);
      received.push({ at: Date.now(), path: req.url, headers: req.headers, body });
      answer(res, flavour.ok, true);
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(handle);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
    });
  await listen();

  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}${path}`;
    },
    secret,
    received,
    rejected,
    rateLimitNext(count, seconds) {
      for (let i = 0; i < count; i++) injected.push(flavour.rateLimited(seconds));
    },
    failNext(count, status, body = '', headers) {
      for (let i = 0; i < count; i++) injected.push({ status, body, ...(headers ? { headers } : {}) });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    deleteWebhook() {
      deleted = true;
    },
    refuse: stop,
    restore: listen,
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} payloads, got ${received.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: stop,
  };
}

// ---- Slack ---------------------------------------------------------------------------------

/**
 * Slack incoming webhooks answer plain text: `ok`, or an error string
 * (https://api.slack.com/messaging/webhooks#handling_errors). Block Kit limits from
 * https://api.slack.com/reference/block-kit/blocks; message text from chat.postMessage.
 */
export function slackViolations(body: unknown): string | undefined {
  const m = body as { text?: unknown; blocks?: unknown };
  if (typeof m !== 'object' || m === null) return 'invalid_payload';
  if (m.text === undefined && m.blocks === undefined) return 'no_text';
  if (m.text !== undefined && typeof m.text !== 'string') return 'invalid_payload';
  if (typeof m.text === 'string' && m.text.length > 40_000) return 'msg_too_long';
  if (m.blocks === undefined) return undefined;
  if (!Array.isArray(m.blocks) || m.blocks.length > 50) return 'invalid_blocks';
  for (const b of m.blocks as Record<string, unknown>[]) {
    const text = b.text as { type?: string; text?: unknown } | undefined;
    switch (b.type) {
      case 'header':
        if (text?.type !== 'plain_text' || typeof text.text !== 'string' || text.text.length === 0 || text.text.length > 150) return 'invalid_blocks';
        break;
      case 'section':
        if (!text || typeof text.text !== 'string' || text.text.length === 0 || text.text.length > 3000) return 'invalid_blocks';
        break;
      case 'context': {
        const els = b.elements as { text?: unknown }[] | undefined;
        if (!Array.isArray(els) || els.length === 0 || els.length > 10) return 'invalid_blocks';
        for (const e of els) if (typeof e.text !== 'string' || e.text.length === 0 || e.text.length > 3000) return 'invalid_blocks';
        break;
      }
      case 'divider':
        break;
      default:
        return 'invalid_blocks';
    }
  }
  return undefined;
}

export function startSlackReceiver(secret = 'T0000SECRET/B0000SECRET/xoxSecretToken123456'): Promise<FakeReceiver> {
  return startReceiver(
    {
      path: (s) => `/services/${s}`,
      ok: { status: 200, body: 'ok' },
      deleted: { status: 404, body: 'no_service' },
      rateLimited: (seconds) => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': String(seconds) } }),
      badJson: { status: 400, body: 'invalid_payload' },
      validate: (body) => {
        const v = slackViolations(body);
        return v ? { status: 400, body: v } : undefined;
      },
    },
    secret,
  );
}

// ---- Discord -------------------------------------------------------------------------------

/**
 * Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits
 * and execute-webhook). Returns the first violation as Discord's error tree would name it.
 */
export function discordViolations(body: unknown): string | undefined {
  const m = body as { content?: unknown; embeds?: unknown };
  if (typeof m !== 'object' || m === null) return 'body';
  const content = typeof m.content === 'string' ? m.content : '';
  const embeds = Array.isArray(m.embeds) ? (m.embeds as Record<string, unknown>[]) : [];
  if (content.length === 0 && embeds.length === 0) return 'empty';
  if (content.length > 2000) return 'content';
  if (embeds.length > 10) return 'embeds';
  let total = 0;
  for (const [i, e] of embeds.entries()) {
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const title = str(e.title);
    const description = str(e.description);
    const footer = str((e.footer as { text?: unknown } | undefined)?.text);
    const author = str((e.author as { name?: unknown } | undefined)?.name);
    if (title.length > 256) return `embeds.${i}.title`;
    if (description.length > 4096) return `embeds.${i}.description`;
    if (footer.length > 2048) return `embeds.${i}.footer.text`;
    if (author.length > 256) return `embeds.${i}.author.name`;
    const fields = Array.isArray(e.fields) ? (e.fields as { name?: unknown; value?: unknown }[]) : [];
    if (fields.length > 25) return `embeds.${i}.fields`;
    total += title.length + description.length + footer.length + author.length;
    for (const [j, f] of fields.entries()) {
      const name = str(f.name);
      const value = str(f.value);
      if (name.length === 0 || name.length > 256) return `embeds.${i}.fields.${j}.name`;
      if (value.length === 0 || value.length > 1024) return `embeds.${i}.fields.${j}.value`;
      total += name.length + value.length;
    }
    if (e.url !== undefined && !/^https?:\/\//.test(str(e.url))) return `embeds.${i}.url`;
  }
  if (total > 6000) return 'embeds';
  return undefined;
}

export function startDiscordReceiver(secret = '123456789012345678/discordSecretToken-abcdefghijklmnop'): Promise<FakeReceiver> {
  return startReceiver(
    {
      path: (s) => `/api/webhooks/${s}`,
      ok: { status: 204, body: '' },
      deleted: { status: 404, body: JSON.stringify({ message: 'Unknown Webhook', code: 10015 }) },
      rateLimited: (seconds) => ({
        status: 429,
        body: JSON.stringify({ message: 'You are being rate limited.', retry_after: seconds, global: false }),
        headers: { 'retry-after': String(Math.ceil(seconds)), 'x-ratelimit-scope': 'user' },
      }),
      badJson: { status: 400, body: JSON.stringify({ message: 'The request body contains invalid JSON.', code: 50109 }) },
      validate: (body) => {
        const v = discordViolations(body);
        if (!v) return undefined;
        if (v === 'empty') return { status: 400, body: JSON.stringify({ message: 'Cannot send an empty message', code: 50006 }) };
        return {
          status: 400,
          body: JSON.stringify({ code: 50035, errors: { [v]: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be fewer in length.' }] } }, message: 'Invalid Form Body' }),
        };
      },
    },
    secret,
  );
}

// ---- generic webhook (Alertmanager v4 body) ------------------------------------------------

export function startWebhookReceiver(secret = 'hooks/webhook-secret-path'): Promise<FakeReceiver> {
  return startReceiver(
    {
      path: (s) => `/${s}`,
      ok: { status: 200, body: '' },
      deleted: { status: 404, body: 'not found' },
      rateLimited: (seconds) => ({ status: 429, body: 'slow down', headers: { 'retry-after': String(seconds) } }),
      badJson: { status: 400, body: 'invalid JSON' },
      validate: (body) => {
        const b = body as { version?: unknown; alerts?: unknown };
        return b.version === '4' && Array.isArray(b.alerts) ? undefined : { status: 400, body: 'not an Alertmanager v4 body' };
      },
    },
    secret,
  );
}

// ---- notifications for tests ---------------------------------------------------------------

export function sampleAlert(i: number, overrides: Partial<NotificationAlert> = {}): NotificationAlert {
  const host = `gpu-${i}`;
  return {
    fingerprint: `fp${String(i).padStart(4, '0')}`,
    status: 'firing',
    labels: { alertname: 'LLMServiceDown', host, service: 'qwen-vl', severity: 'critical' },
    annotations: { summary: `qwen-vl on ${host} is down`, description: 'probe failed: connection refused' },
    startsAt: '2024-05-01T10:00:00.000Z',
    endsAt: null,
    ...overrides,
  };
}

/** A firing LLMServiceDown group of `count` hosts for service qwen-vl. */
export function sampleNotification(count = 2, overrides: Partial<Notification> = {}): Notification {
  const alerts = Array.from({ length: count }, (_, i) => sampleAlert(i + 1));
  return {
    id: 'n-0001',
    receiver: 'ops',
    groupKey: '{}:{alertname="LLMServiceDown", service="qwen-vl"}',
    groupLabels: { alertname: 'LLMServiceDown', service: 'qwen-vl' },
    commonLabels: { alertname: 'LLMServiceDown', service: 'qwen-vl', severity: 'critical' },
    status: 'firing',
    firingCount: count,
    resolvedCount: 0,
    alerts,
    truncatedAlerts: 0,
    externalUrl: 'http://127.0.0.1:7700',
    createdAt: '2024-05-01T10:00:10.000Z',
    ...overrides,
  };
}
