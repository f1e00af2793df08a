/**
 * Local stand-ins for the places alerts go (README.md): loopback HTTP receivers shaped like a
 * Slack incoming webhook, a Discord webhook and a generic (Alertmanager v4) webhook. Each
 * prints one line per payload it receives, so the demo shows what a person would be sent.
 *
 * An SMTP sink (email) runs beside them when the `smtp-server` package is installed (it is
 * with `npm install` in a checkout); without it the demo simply has no email receiver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SinkType = 'slack' | 'discord' | 'webhook' | 'email';

export interface Sink {
  /** receiver name to use in the coordinator's `notify` section */
  name: string;
  type: SinkType;
  /** the URL to configure as the receiver's `url` */
  url: string;
  /** payloads received so far */
  received: number;
}

export interface RunningSinks {
  sinks: Sink[];
  close(): Promise<void>;
}

/** Request bodies above this are refused (413), as the real services do. */
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LINE = 200;

type Json = Record<string, unknown>;

interface SinkSpec {
  name: string;
  type: SinkType;
  /** path part of the URL (the real services put the webhook's secret there) */
  path: string;
  pathRe: RegExp;
  summarize(body: Json): string;
  /** status and body to answer with, as the real service does on success */
  reply(req: IncomingMessage): { status: number; body?: string; type?: string };
}

const SPECS: SinkSpec[] = [
  {
    name: 'demo-slack',
    type: 'slack',
    path: '/services/T0DEMO/B0DEMO/demo-secret',
    pathRe: /^\/services\/[^/]+\/[^/]+\/[^/]+$/,
    summarize: (b) => {
      const blocks = Array.isArray(b.blocks) ? b.blocks.length : 0;
      const text = typeof b.text === 'string' ? b.text : firstBlockText(b.blocks) ?? JSON.stringify(b);
      return `${oneLine(text)}${blocks ? ` (${blocks} blocks)` : ''}`;
    },
    reply: () => ({ status: 200, body: 'ok', type: 'text/plain' }),
  },
  {
    name: 'demo-discord',
    type: 'discord',
    path: '/api/webhooks/100000000000000000/demo-secret',
    pathRe: /^\/api\/webhooks\/[^/]+\/[^/]+$/,
    summarize: (b) => {
      const embeds = Array.isArray(b.embeds) ? (b.embeds as Json[]) : [];
      const content = typeof b.content === 'string' && b.content ? oneLine(b.content) : '';
      const titles = embeds.map((e) => (typeof e.title === 'string' ? e.title : '')).filter(Boolean);
      return [content, embeds.length ? `${embeds.length} embed(s)${titles.length ? `: ${oneLine(titles.join(' | '))}` : ''}` : ''].filter(Boolean).join(' — ') || '(empty)';
    },
    // Discord answers 204 unless ?wait=true asks for the created message
    reply: (req) =>
      new URL(req.url ?? '/', 'http://x').searchParams.get('wait') === 'true'
        ? { status: 200, body: JSON.stringify({ id: String(Date.now()), type: 0 }), type: 'application/json' }
        : { status: 204 },
  },
  {
    name: 'demo-webhook',
    type: 'webhook',
    path: '/hook',
    pathRe: /^\/hook$/,
    summarize: (b) => {
      const alerts = Array.isArray(b.alerts) ? (b.alerts as Json[]) : [];
      const names = alerts.map((a) => {
        const l = (a.labels ?? {}) as Record<string, string>;
        return [l.alertname, l.host && l.service ? `${l.host}/${l.service}` : l.host ?? l.service].filter(Boolean).join(' ');
      });
      return `${String(b.status ?? '?')} ${alerts.length} alert(s)${names.length ? `: ${oneLine(names.join(', '))}` : ''}`;
    },
    reply: () => ({ status: 200, body: '{}', type: 'application/json' }),
  },
];

/** Starts one loopback receiver per sink type on an ephemeral port; `print` gets one line per payload. */
export async function startSinks(print: (line: string) => void): Promise<RunningSinks> {
  const servers: Server[] = [];
  const sinks: Sink[] = [];
  try {
    for (const spec of SPECS) {
      const sink: Sink = { name: spec.name, type: spec.type, url: '', received: 0 };
      const server = createServer((req, res) => void handle(spec, sink, req, res, print));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${spec.path}`;
      sinks.push(sink);
    }
  } catch (err) {
    await closeAll(servers);
    throw err;
  }
  const smtp = await startSmtpSink(print).catch(() => null);
  if (smtp) sinks.push(smtp.sink);
  return {
    sinks,
    close: async () => {
      await closeAll(servers);
      await smtp?.close();
    },
  };
}

/** A loopback SMTP server printing the subject of every mail (email receiver of the demo). */
async function startSmtpSink(print: (line: string) => void): Promise<{ sink: Sink; close(): Promise<void> } | null> {
  let SMTPServer: typeof import('smtp-server').SMTPServer;
  try {
    ({ SMTPServer } = await import('smtp-server'));
  } catch {
    return null;
  }
  const sink: Sink = { name: 'demo-email', type: 'email', url: '', received: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 16_384) head += chunk.toString('utf8');
      });
      stream.on('end', () => {
        sink.received++;
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '(no subject)';
        print(`[sink:email] ${subject.slice(0, MAX_LINE)}`);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  sink.url = `smtp://127.0.0.1:${port}`;
  return { sink, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function handle(spec: SinkSpec, sink: Sink, req: IncomingMessage, res: ServerResponse, print: (line: string) => void): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (!spec.pathRe.test(path)) return answer(res, 404, JSON.stringify({ message: 'Unknown Webhook' }), 'application/json');
  if (req.method !== 'POST') return answer(res, 405, 'method not allowed', 'text/plain');
  let text: string;
  try {
    text = await readBody(req);
  } catch {
    return answer(res, 413, 'payload too large', 'text/plain');
  }
  let body: Json;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Json;
  } catch {
    print(`[sink:${spec.type}] refused a payload that is not a JSON object (${text.length} bytes)`);
    return answer(res, 400, 'invalid_payload', 'text/plain');
  }
  sink.received++;
  print(`[sink:${spec.type}] ${spec.summarize(body)}`);
  const r = spec.reply(req);
  answer(res, r.status, r.body, r.type);
}

function answer(res: ServerResponse, status: number, body?: string, type?: string): void {
  res.writeHead(status, type ? { 'content-type': type } : {});
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error('too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function firstBlockText(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const b of blocks as Json[]) {
    const t = b.text as Json | undefined;
    if (t && typeof t.text === 'string') return t.text;
  }
  return undefined;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_LINE ? `${flat.slice(0, MAX_LINE - 1)}…` : flat;
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
}
