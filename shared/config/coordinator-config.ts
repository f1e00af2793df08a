import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import type { ConfigIssue } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/constants.js';
import { regexProblem } from '../regex.js';
import { asMapping, configAjv, finishConfig, loadYamlConfig, logSchema, readConfigFile, type LoadOptions } from './load.js';
import { pemFile, readPemFiles } from './tls-files.js';

/**
 * Coordinator YAML (docs/configuration.md). The `alerts` and `notify` sections are validated here already
 * so that the alert pipeline and notifiers only add behaviour, never config keys.
 */

export const NOTIFIER_TYPES = ['slack', 'discord', 'email', 'webhook', 'alertmanager'] as const;
export type NotifierType = (typeof NOTIFIER_TYPES)[number];

/** `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 asks the OS for a free one. */
const LISTEN_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/;

const duration = { duration: true } as const;
/** a period, timeout or bound: 0 would be a busy loop, an instant failure or no limit at all */
const period = { duration: 'positive' } as const;
const tokenList = { type: 'array', items: { type: 'string', minLength: 1, 'x-expect': 'a non-empty token' }, 'x-expect': 'a list of tokens' } as const;
const tokenFile = { type: 'string', minLength: 1, 'x-expect': 'a path to a file with one token per line' } as const;
/** An agent id, or a glob of them (`*`, `?`): the ids a token may say `hello` as. */
const agentGlob = { type: 'string', pattern: '^[A-Za-z0-9_.:*?-]{1,128}$', 'x-expect': 'an agent id or a glob of them (letters, digits, _.:- and * ?)' } as const;
/** Admin tokens may carry a name: it is who the audit log says did something. */
const adminTokenList = {
  type: 'array',
  items: {
    anyOf: [
      { type: 'string', minLength: 1 },
      {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'token'],
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.@:-]{1,64}$', 'x-expect': 'a name of letters, digits and _.@:- (at most 64)' }, token: { type: 'string', minLength: 1, 'x-expect': 'a non-empty token' } },
      },
    ],
    'x-expect': '{ name, token }, or a plain token',
  },
  'x-expect': 'a list of tokens',
} as const;
const agentTokenList = {
  type: 'array',
  items: {
    anyOf: [
      { type: 'string', minLength: 1 },
      {
        type: 'object',
        additionalProperties: false,
        required: ['token', 'agents'],
        properties: { token: { type: 'string', minLength: 1, 'x-expect': 'a non-empty token' }, agents: { type: 'array', minItems: 1, items: agentGlob, 'x-expect': 'a non-empty list of agent ids or globs' } },
      },
    ],
    'x-expect': '{ token, agents: [ids or globs] }, or a plain token (any agent id)',
  },
  'x-expect': 'a list of agent tokens',
} as const;
/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const matchers = { type: 'object', additionalProperties: { type: 'string' }, 'x-expect': 'a mapping of label names to values' } as const;
const regexMatchers = { type: 'object', additionalProperties: { type: 'string' }, 'x-expect': 'a mapping of label names to RE2 regexes' } as const;

export const coordinatorConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['auth'],
  properties: {
    listen: { type: 'string', pattern: LISTEN_RE.source, default: '127.0.0.1:7700', 'x-expect': 'host:port like 127.0.0.1:7700, [::1]:7700 or :7700' },
    dataDir: { type: 'string', minLength: 1, default: './data', 'x-expect': 'a directory path' },
    externalUrl: { type: 'string', urlSchemes: ['http', 'https'], 'x-expect': 'the URL people use to reach the dashboard, for links in notifications' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        agentTokens: agentTokenList,
        agentTokenFile: { ...tokenFile, 'x-expect': 'a path to a file with one token per line, each optionally followed by the agent ids or globs it may use' },
        adminTokens: adminTokenList,
        adminTokenFile: tokenFile,
        viewerTokens: tokenList,
        viewerTokenFile: tokenFile,
        // restart evidence (journal tails) is for token holders; this opens it on an open read API
        evidenceWithoutToken: { type: 'boolean', default: false },
      },
    },
    fleet: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        agentLostAfter: { ...period, default: '30s' },
        /** ws ping and coordinator heartbeat period; a peer missing one ping round is terminated */
        heartbeatInterval: { ...period, default: '10s' },
        helloTimeout: { ...period, default: '10s' },
        /** an agent away this long stops paging (its alerts resolve); the host stays listed, `retired` */
        retireAfter: { ...period, default: '7d' },
      },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        groupBy: { type: 'array', items: { type: 'string', minLength: 1 }, default: ['alertname', 'service'], 'x-expect': 'a list of label names' },
        groupWait: { ...duration, default: '10s' },
        groupInterval: { ...period, default: '1m' },
        repeatInterval: { ...period, default: '4h' },
        sendResolved: { type: 'boolean', default: true },
        /** how long resolved alerts stay listed (GET /api/v1/alerts, the live feed) */
        resolvedRetention: { ...duration, default: '15m' },
      },
    },
    notify: {
      type: 'array',
      default: [],
      'x-expect': 'a list of receivers',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', 'x-expect': 'a receiver name of letters, digits and _.- (max 64)' },
          type: { enum: [...NOTIFIER_TYPES] },
          url: { type: 'string', urlSchemes: ['http', 'https'] },
          match: matchers,
          /** label → RE2 regex matching the whole value, as Alertmanager's match_re */
          matchRe: regexMatchers,
          sendResolved: { type: 'boolean' },
          timeout: { ...period, default: '10s' },
          /** overrides the provider's pacing (Slack 1s, Discord 2s, others 0) between two messages */
          minInterval: { ...duration },
          /** extra request headers (webhook, alertmanager), e.g. Authorization; never logged */
          headers: {
            type: 'object',
            propertyNames: { pattern: HEADER_NAME_RE.source },
            additionalProperties: { type: 'string', 'x-expect': 'a header value' },
            'x-expect': 'a mapping of header names to values',
          },
          smtp: {
            type: 'object',
            additionalProperties: false,
            required: ['host'],
            properties: {
              host: { type: 'string', minLength: 1 },
              port: { type: 'integer', minimum: 1, maximum: 65535, default: 25 },
              /** TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when offered */
              secure: { type: 'boolean', default: false },
              /** fail unless the server upgrades with STARTTLS (never send AUTH or mail in clear) */
              requireTLS: { type: 'boolean', default: false },
              /** never try STARTTLS, even when offered */
              ignoreTLS: { type: 'boolean', default: false },
              tls: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  rejectUnauthorized: { type: 'boolean', default: true },
                  servername: { type: 'string', minLength: 1 },
                },
              },
              auth: {
                type: 'object',
                additionalProperties: false,
                required: ['user', 'pass'],
                properties: { user: { type: 'string', minLength: 1 }, pass: { type: 'string' } },
              },
              /** shorthand for auth: { user, pass } */
              user: { type: 'string', minLength: 1 },
              pass: { type: 'string' },
              /** keep connections open between messages (closed by Notifier.close) */
              pool: { type: 'boolean', default: true },
              maxConnections: { type: 'integer', minimum: 1, maximum: 20, default: 2 },
            },
          },
          from: { type: 'string', minLength: 3 },
          subjectPrefix: { type: 'string', maxLength: 100, 'x-expect': 'a short text put before every subject' },
          to: { type: 'array', minItems: 1, items: { type: 'string', minLength: 3 }, 'x-expect': 'a list of addresses' },
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        retention: { ...period, default: '30d' },
        pruneInterval: { ...period, default: '1h' },
      },
    },
    /** the live feed, WebSocket /api/v1/feed (docs/feed.md) */
    feed: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxClients: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, 'x-expect': 'an integer from 1 to 10000' },
        maxBufferedBytes: { type: 'integer', minimum: 65_536, maximum: 1024 * 1024 * 1024, default: 4 * 1024 * 1024, 'x-expect': 'a byte count from 65536 to 1073741824' },
        maxMessageBytes: { type: 'integer', minimum: 4096, maximum: 16 * 1024 * 1024, default: 256 * 1024, 'x-expect': 'a byte count from 4096 to 16777216' },
      },
    },
    /** per-service probe history in 1-minute buckets (docs/http-api.md, history) */
    history: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        retention: { ...duration, default: '30d' },
      },
    },
    silences: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxDuration: { ...period, default: '30d' },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        retention: { ...period, default: '90d' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxPayload: { type: 'integer', minimum: 4096, maximum: 64 * 1024 * 1024, default: DEFAULT_MAX_FRAME_BYTES, 'x-expect': 'a byte count from 4096 to 67108864' },
      },
    },
    log: logSchema,
    /** TLS served by the coordinator itself (https://, wss://); without it the listener speaks plain HTTP */
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: { cert: pemFile, key: pemFile, ca: pemFile, clientCerts: { enum: ['none', 'optional', 'required'], default: 'none' } },
    },
    /** dead-man's switch: a healthchecks-style URL fetched every interval while the coordinator is healthy */
    watchdog: {
      type: 'object',
      additionalProperties: false,
      required: ['pingUrl'],
      properties: {
        pingUrl: { type: 'string', urlSchemes: ['http', 'https'], 'x-expect': 'the check URL of a dead-man\'s-switch service (healthchecks.io, Uptime Kuma push, ...)' },
        interval: { ...period, default: '1m' },
        method: { enum: ['GET', 'POST'], default: 'GET' },
        timeout: { ...period, default: '10s' },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { allowedHosts: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9.-]+$', 'x-expect': 'a host name like status.example.com' }, default: [], 'x-expect': 'a list of host names' } },
    },
  },
} as const;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  ignoreTLS: boolean;
  tls?: { rejectUnauthorized: boolean; servername?: string };
  /** from smtp.auth or the smtp.user/smtp.pass shorthand */
  auth?: { user: string; pass: string };
  pool: boolean;
  maxConnections: number;
}

export interface NotifierConfig {
  name: string;
  type: NotifierType;
  url?: string;
  match: Record<string, string>;
  /** label → RE2 regex (whole value); absent when the file has none */
  matchRe?: Record<string, string>;
  sendResolved?: boolean;
  timeout: number;
  /** ms; undefined: the provider's default pacing */
  minInterval?: number;
  /** webhook, alertmanager only */
  headers?: Record<string, string>;
  smtp?: SmtpConfig;
  from?: string;
  to?: string[];
  /** email only */
  subjectPrefix?: string;
}

/** An agent token and the agent ids (globs) it may speak for; `agents: null` is any id. */
export interface AgentTokenConfig {
  token: string;
  agents: string[] | null;
  /** where it was configured (`auth.agentTokens[1]`, `auth.agentTokenFile line 3`), for logs */
  source: string;
}

export interface WatchdogPingConfig {
  pingUrl: string;
  interval: number;
  method: 'GET' | 'POST';
  timeout: number;
}

export interface CoordinatorConfig {
  file: string;
  listen: ListenAddress;
  /** absolute; relative paths in the file are resolved against the file's directory */
  dataDir: string;
  /** dashboard URL for links in notifications; defaults to the listen URL */
  externalUrl?: string;
  /** `evidenceWithoutToken`: serve restart evidence on an open read API (no viewer tokens) */
  auth: {
    agentTokens: AgentTokenConfig[];
    adminTokens: string[];
    /** per adminTokens entry, same order: its `name`, or where it was configured (`auth.adminTokens[0]`) */
    adminTokenNames?: string[];
    viewerTokens: string[];
    evidenceWithoutToken: boolean;
  };
  fleet: { agentLostAfter: number; heartbeatInterval: number; helloTimeout: number; retireAfter: number };
  /** resolvedRetention: ms resolved alerts stay listed */
  alerts: { groupBy: string[]; groupWait: number; groupInterval: number; repeatInterval: number; sendResolved: boolean; resolvedRetention: number };
  /** the live feed's bounds (docs/feed.md) */
  feed: { maxClients: number; maxBufferedBytes: number; maxMessageBytes: number };
  /** retention: ms of 1-minute history buckets kept */
  history: { retention: number };
  notify: NotifierConfig[];
  store: { retention: number; pruneInterval: number };
  /** maxDuration: ms, the longest silence POST /api/v1/silences accepts */
  silences: { maxDuration: number };
  /** retention: ms, how long audit log rows are kept (pruned with the store's pruneInterval) */
  audit: { retention: number };
  limits: { maxPayload: number };
  log: { file?: string; level: string };
  /** absolute paths: the files are read again on SIGHUP */
  tls?: { cert: string; key: string; ca?: string; clientCerts: 'none' | 'optional' | 'required' };
  /** host names accepted in the Host header besides loopback names, IP addresses and externalUrl's host */
  http: { allowedHosts: string[] };
  watchdog?: WatchdogPingConfig;
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  return (compiled ??= configAjv().compile(coordinatorConfigSchema));
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function loadCoordinatorConfig(file: string, options: LoadOptions = {}): CoordinatorConfig {
  return parseCoordinatorConfig(file, readConfigFile(file), options);
}

export function parseCoordinatorConfig(file: string, text: string, options: LoadOptions = {}): CoordinatorConfig {
  const loaded = loadYamlConfig<Raw>(file, text, validator(), options);
  const raw = loaded.raw;
  const issues: ConfigIssue[] = [];
  const base = dirname(resolve(file));
  // The checks below also run when the schema refused parts of the file (every problem is
  // reported at once), so they read each value defensively.

  const listen = typeof raw.listen === 'string' ? parseListen(raw.listen) : undefined;
  if (!listen && typeof raw.listen === 'string') issues.push({ path: 'listen', message: `expected a port from 0 to 65535, got ${JSON.stringify(raw.listen)}` });

  const auth = asMapping(raw.auth);
  const tokenLines = (name: 'agent' | 'admin' | 'viewer'): { text: string; source: string }[] | undefined => {
    const fileKey = `${name}TokenFile`;
    if (auth[fileKey] === undefined) return undefined;
    if (auth[`${name}Tokens`] !== undefined) issues.push({ path: `auth.${fileKey}`, message: `give ${name}Tokens or ${fileKey}, not both` });
    try {
      return readTokenFile(resolve(base, auth[fileKey] as string)).map((l) => ({ text: l.text, source: `auth.${fileKey} line ${l.line}` }));
    } catch (err) {
      issues.push({ path: `auth.${fileKey}`, message: `cannot read token file ${JSON.stringify(auth[fileKey])}: ${(err as Error).message}` });
      return [];
    }
  };
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const tokens = (name: 'viewer'): string[] => [...(list(auth[`${name}Tokens`]) as string[]), ...(tokenLines(name) ?? []).map((l) => l.text)];
  const agentTokens = [
    ...(list(auth.agentTokens) as (string | { token: string; agents: string[] })[]).map((t, i) =>
      typeof t === 'string' ? { token: t, agents: null, source: `auth.agentTokens[${i}]` } : { token: asMapping(t).token, agents: asMapping(t).agents, source: `auth.agentTokens[${i}]` },
    ),
    ...(tokenLines('agent') ?? []).map((l) => parseAgentTokenLine(l.text, l.source, issues)),
  ];
  const admins = adminTokenEntries(auth.adminTokens, tokenLines('admin'), issues);
  const adminTokens = admins.map((a) => a.token);
  const viewerTokens = tokens('viewer');
  // a missing auth section is the schema's to report
  if (raw.auth !== undefined && agentTokens.length === 0 && !issues.some((i) => i.path === 'auth.agentTokenFile')) {
    // Fail closed: a coordinator no agent can reach is a misconfiguration, not an open door.
    issues.push({ path: 'auth.agentTokens', message: 'at least one agent token is required (or auth.agentTokenFile)' });
  }

  const notify = (Array.isArray(raw.notify) ? (raw.notify as unknown[]) : []).map((n, i) => parseNotifier(asMapping(n), `notify[${i}]`, issues));
  const seen = new Map<string, number>();
  notify.forEach((n, i) => {
    const first = seen.get(n.name);
    if (first !== undefined) issues.push({ path: `notify[${i}].name`, message: `duplicate receiver name ${JSON.stringify(n.name)} (first used at notify[${first}])` });
    else seen.set(n.name, i);
  });

  const fleet = asMapping(raw.fleet) as CoordinatorConfig['fleet'];
  const ms = (...v: unknown[]) => v.every((x) => typeof x === 'number');
  if (ms(fleet.agentLostAfter, fleet.heartbeatInterval) && fleet.agentLostAfter <= fleet.heartbeatInterval) {
    issues.push({ path: 'fleet.agentLostAfter', message: `must be longer than fleet.heartbeatInterval (${fleet.heartbeatInterval}ms), or every agent flaps offline between heartbeats` });
  }
  if (ms(fleet.retireAfter, fleet.agentLostAfter) && fleet.retireAfter <= fleet.agentLostAfter) {
    issues.push({ path: 'fleet.retireAfter', message: `must be longer than fleet.agentLostAfter (${fleet.agentLostAfter}ms): a host is offline before it is retired` });
  }
  const store = raw.store as CoordinatorConfig['store'];
  const silences = raw.silences as CoordinatorConfig['silences'];

  const tls = parseTls(raw.tls && typeof raw.tls === 'object' ? (raw.tls as Raw) : undefined, base, issues);

  finishConfig(loaded, issues);
  return {
    file,
    listen: listen!,
    dataDir: resolve(base, raw.dataDir as string),
    ...(raw.externalUrl ? { externalUrl: (raw.externalUrl as string).replace(/\/+$/, '') } : {}),
    auth: { agentTokens, adminTokens, adminTokenNames: admins.map((a) => a.name), viewerTokens, evidenceWithoutToken: auth.evidenceWithoutToken === true },
    fleet,
    alerts: raw.alerts as CoordinatorConfig['alerts'],
    feed: raw.feed as CoordinatorConfig['feed'],
    history: raw.history as CoordinatorConfig['history'],
    notify,
    store,
    silences,
    audit: raw.audit as CoordinatorConfig['audit'],
    limits: raw.limits as CoordinatorConfig['limits'],
    log: raw.log as CoordinatorConfig['log'],
    ...(tls ? { tls } : {}),
    http: { allowedHosts: (raw.http.allowedHosts as string[]).map((h) => h.toLowerCase()) },
    ...(raw.watchdog ? { watchdog: raw.watchdog as WatchdogPingConfig } : {}),
  };
}

/** Admin tokens with the name the audit log records: the configured one, else where the token was configured. */
function adminTokenEntries(raw: unknown, lines: { text: string; source: string }[] | undefined, issues: ConfigIssue[]): { token: string; name: string }[] {
  const entries = ((raw as (string | { name: string; token: string })[] | undefined) ?? []).map((t, i) =>
    typeof t === 'string' ? { token: t, name: `auth.adminTokens[${i}]` } : { token: t.token, name: t.name },
  );
  const all = [...entries, ...(lines ?? []).map((l) => ({ token: l.text, name: l.source }))];
  const seen = new Set<string>();
  all.forEach((a, i) => {
    if (seen.has(a.name)) issues.push({ path: `auth.adminTokens[${i}].name`, message: `duplicate admin token name ${JSON.stringify(a.name)}` });
    seen.add(a.name);
  });
  return all;
}

/** The files must be readable and usable now: a coordinator that cannot serve TLS should not start. */
function parseTls(t: Raw | undefined, base: string, issues: ConfigIssue[]): CoordinatorConfig['tls'] {
  if (!t) return undefined;
  if (t.clientCerts !== 'none' && t.ca === undefined) issues.push({ path: 'tls.ca', message: `is required with tls.clientCerts: ${t.clientCerts} (the CA that signs agent certificates)` });
  if (t.clientCerts === 'none' && t.ca !== undefined) issues.push({ path: 'tls.ca', message: 'is only used to verify client certificates: set tls.clientCerts to optional or required' });
  readPemFiles(base, t, 'tls', issues);
  const path = (p: unknown) => (typeof p === 'string' ? resolve(base, p) : (p as string));
  return { cert: path(t.cert), key: path(t.key), ...(t.ca !== undefined ? { ca: path(t.ca) } : {}), clientCerts: t.clientCerts };
}

const EMAIL_ONLY = ['smtp', 'from', 'to', 'subjectPrefix'] as const;
const HEADER_TYPES: readonly NotifierType[] = ['webhook', 'alertmanager'];

/** Per-type rules the schema cannot say, and the smtp shorthand folded into `smtp.auth`. */
function parseNotifier(n: Raw, at: string, issues: ConfigIssue[]): NotifierConfig {
  if (n.type === 'email') {
    for (const key of ['smtp', 'from', 'to']) if (n[key] === undefined) issues.push({ path: `${at}.${key}`, message: 'is required for type email' });
    if (n.url !== undefined) issues.push({ path: `${at}.url`, message: 'is not used by type email (give smtp, from, to)' });
  } else {
    if (n.url === undefined) issues.push({ path: `${at}.url`, message: `is required for type ${n.type}` });
    for (const key of EMAIL_ONLY) if (n[key] !== undefined) issues.push({ path: `${at}.${key}`, message: `is only used by type email, not ${n.type}` });
  }
  if (n.headers !== undefined && !HEADER_TYPES.includes(n.type)) {
    issues.push({ path: `${at}.headers`, message: `is only used by types ${HEADER_TYPES.join(', ')}, not ${n.type}` });
  }
  let smtp: SmtpConfig | undefined;
  if (n.smtp !== undefined) {
    const s = asMapping(n.smtp);
    const sp = `${at}.smtp`;
    if (s.requireTLS && s.ignoreTLS) issues.push({ path: `${sp}.ignoreTLS`, message: 'conflicts with smtp.requireTLS (one forbids STARTTLS, the other demands it)' });
    if (s.secure && s.ignoreTLS) issues.push({ path: `${sp}.ignoreTLS`, message: 'conflicts with smtp.secure: true (the connection is TLS from the first byte)' });
    if (s.auth !== undefined && (s.user !== undefined || s.pass !== undefined)) {
      issues.push({ path: `${sp}.auth`, message: 'give smtp.auth or smtp.user/smtp.pass, not both' });
    } else if ((s.user === undefined) !== (s.pass === undefined)) {
      issues.push({ path: `${sp}.${s.user === undefined ? 'user' : 'pass'}`, message: `is required with smtp.${s.user === undefined ? 'pass' : 'user'}` });
    }
    const auth = (s.auth as SmtpConfig['auth']) ?? (s.user !== undefined && s.pass !== undefined ? { user: s.user as string, pass: s.pass as string } : undefined);
    smtp = {
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      ignoreTLS: s.ignoreTLS,
      ...(s.tls !== undefined ? { tls: s.tls as SmtpConfig['tls'] } : {}),
      ...(auth ? { auth } : {}),
      pool: s.pool,
      maxConnections: s.maxConnections,
    };
  }
  return {
    name: n.name,
    type: n.type,
    url: n.url,
    match: n.match ?? {},
    ...(n.matchRe !== undefined ? { matchRe: checkedRegexes(n.matchRe as Record<string, string>, `${at}.matchRe`, issues) } : {}),
    sendResolved: n.sendResolved,
    timeout: n.timeout,
    minInterval: n.minInterval,
    headers: n.headers,
    smtp,
    from: n.from,
    to: n.to,
    subjectPrefix: n.subjectPrefix,
  };
}

/**
 * Refuses what RE2 cannot run (lookaround, backreferences, bad syntax) when the config is
 * loaded, so a route regex never reaches matching unchecked.
 */
function checkedRegexes(map: Record<string, string>, at: string, issues: ConfigIssue[]): Record<string, string> {
  for (const [label, source] of Object.entries(map)) {
    const problem = regexProblem(source);
    if (problem) issues.push({ path: `${at}.${label}`, message: `regex matcher ${label}=~${JSON.stringify(source)}: ${problem}` });
  }
  return map;
}

export function parseListen(text: string): ListenAddress | undefined {
  const m = LISTEN_RE.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** One token per line; blank lines and `#` comments are ignored. */
function readTokenFile(path: string): { text: string; line: number }[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), line: i + 1 }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
}

const AGENT_GLOB_RE = new RegExp(agentGlob.pattern);

/** `TOKEN` (any agent id) or `TOKEN id-or-glob...` (whitespace-separated). */
function parseAgentTokenLine(text: string, source: string, issues: ConfigIssue[]): AgentTokenConfig {
  const [token, ...agents] = text.split(/\s+/);
  const bad = agents.find((a) => !AGENT_GLOB_RE.test(a));
  // the path names the line, never the token
  if (bad !== undefined) issues.push({ path: 'auth.agentTokenFile', message: `${source.replace('auth.agentTokenFile ', '')}: expected agent ids or globs after the token, got ${JSON.stringify(bad)}` });
  return { token: token!, agents: agents.length ? agents : null, source };
}
