import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { asMapping, configAjv, finishConfig, loadYamlConfig, logSchema, readConfigFile, type LoadOptions } from './load.js';
import { pemFile, readPemFiles, type PemFiles } from './tls-files.js';
import { agentMetricsSchema, parseAgentMetrics, type AgentMetricsConfig } from './agent-metrics.js';

export const SERVICE_KINDS = ['llamacpp', 'vllm', 'tgi', 'ollama', 'sglang', 'openai', 'http', 'tcp'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/**
 * systemd unit names: letters, digits and `:_.@-`, not starting with `-` (an argv element
 * starting with `-` would be read as an option). Same rule as Uptime Kuma's system-service
 * monitor, plus the leading-dash guard and systemd's 255-character limit.
 */
export const UNIT_NAME_PATTERN = '^[A-Za-z0-9_@:.][A-Za-z0-9_@:.\\-]{0,254}$';
export const UNIT_NAME_RE = new RegExp(UNIT_NAME_PATTERN);

const duration = { duration: true } as const;
/** a period or timeout: 0 would be a busy loop or an instant failure */
const period = { duration: 'positive' } as const;
const timing = {
  interval: { ...period, default: '10s' },
  timeout: { ...period, default: '10s' },
  retries: { type: 'integer', minimum: 1, maximum: 20, default: 3, 'x-expect': 'an integer from 1 to 20' },
  retryDelay: { ...duration, default: '2s' },
  startupGrace: { ...duration, default: '10m' },
  recoverAfter: { type: 'integer', minimum: 1, maximum: 100, default: 2, 'x-expect': 'an integer from 1 to 100' },
  stallAfter: { ...period, default: '60s' },
  slowAfter: { ...period, 'x-expect': 'a duration: deep probes slower than this make the service degraded (reason slow)' },
} as const;
const timingKeys = Object.keys(timing) as (keyof typeof timing)[];
/** Per-service overrides: same keys without defaults, so `defaults:` is what fills gaps. */
const serviceTiming = Object.fromEntries(
  Object.entries(timing).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([key]) => key !== 'default'))]),
);

const labels = { type: 'object', additionalProperties: { type: 'string' }, default: {}, 'x-expect': 'a mapping of label names to strings' } as const;

export const agentConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    agent: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$', 'x-expect': 'an agent id of letters, digits and _.:- (max 128)' },
        labels,
      },
    },
    coordinator: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: {
          anyOf: [
            { type: 'string', urlSchemes: ['ws', 'wss'] },
            { type: 'array', minItems: 1, items: { type: 'string', urlSchemes: ['ws', 'wss'] } },
          ],
          'x-expect': 'a ws:// or wss:// URL, or a list of them',
        },
        token: { type: 'string', minLength: 1, 'x-expect': 'a non-empty token' },
        tokenFile: { type: 'string', minLength: 1 },
        spoolDir: { type: 'string', minLength: 1, default: '/var/lib/llm-health/spool' },
        spoolMaxBytes: { type: 'integer', minimum: 65536, default: 64 * 1024 * 1024, 'x-expect': 'a byte count of at least 65536' },
        fsync: { enum: ['always', 'batch', 'never'], default: 'batch' },
        heartbeat: { ...period, default: '10s' },
        reconnectMax: { ...period, default: '30s' },
        /** wss:// only: CA(s) to verify the coordinator with instead of the system store, and a client certificate */
        ca: pemFile,
        cert: pemFile,
        key: pemFile,
      },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: timing,
    },
    services: {
      type: 'array',
      minItems: 1,
      'x-expect': 'a list of services to watch',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'url'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', 'x-expect': 'a service name of letters, digits and _.- (max 64)' },
          kind: { enum: [...SERVICE_KINDS] },
          url: { type: 'string', urlSchemes: ['http', 'https', 'tcp'] },
          fallbackUrls: { type: 'array', items: { type: 'string', urlSchemes: ['http', 'https', 'tcp'] }, default: [] },
          unit: { type: 'string', pattern: UNIT_NAME_PATTERN, 'x-expect': 'a systemd unit name like llama-server.service (letters, digits, _@:.- only)' },
          model: { type: 'string', minLength: 1 },
          labels,
          path: { type: 'string', pattern: '^/', 'x-expect': 'a path starting with /' },
          expectStatus: { type: 'integer', minimum: 100, maximum: 599 },
          expectBody: { type: 'string' },
          metrics: { anyOf: [{ type: 'boolean' }, { enum: ['auto'] }], default: 'auto', 'x-expect': 'true, false or auto' },
          metricsPath: { type: 'string', pattern: '^/', default: '/metrics', 'x-expect': 'a path starting with /' },
          deepProbe: {
            anyOf: [
              { type: 'boolean' },
              {
                type: 'object',
                additionalProperties: false,
                properties: {
                  // defaults are applied in code: ajv ignores defaults inside anyOf
                  every: period,
                  timeout: period,
                  vision: { type: 'boolean' },
                  prompt: { type: 'string', minLength: 1, maxLength: 2000 },
                },
              },
            ],
            'x-expect': 'false or a mapping with every, timeout, vision, prompt',
          },
          ...serviceTiming,
        },
      },
    },
    restart: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        systemctl: {
          anyOf: [
            { type: 'string', minLength: 1 },
            { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          ],
          default: 'systemctl',
          'x-expect': 'a command name or an argv list like [sudo, -n, systemctl]',
        },
        maxRestarts: { type: 'integer', minimum: 0, maximum: 1000, default: 3 },
        window: { ...period, default: '30m' },
        backoff: { ...duration, default: '30s' },
        timeout: { ...period, default: '90s' },
        journal: { type: 'boolean', default: true },
        journalLines: { type: 'integer', minimum: 0, maximum: 1000, default: 50 },
        redact: {
          type: 'array',
          default: [],
          items: { type: 'string', minLength: 1, maxLength: 1000, 'x-expect': 'a regular expression (1 to 1000 characters)' },
          'x-expect': 'a list of regular expressions whose matches are removed from restart evidence',
        },
      },
    },
    gpu: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { anyOf: [{ type: 'boolean' }, { enum: ['auto'] }], default: 'auto', 'x-expect': 'true, false or auto' },
        interval: { ...period, default: '30s' },
        command: { type: 'string', minLength: 1, default: 'nvidia-smi' },
        temperatureWarn: { type: 'number', default: 85 },
        memoryWarnPercent: { type: 'number', minimum: 0, maximum: 100, default: 98 },
      },
    },
    log: logSchema,
    metrics: agentMetricsSchema,
  },
} as const;

export interface DeepProbeConfig {
  every: number;
  timeout: number;
  vision: boolean;
  prompt: string;
}

/** A service with every default applied: what probes, state machine and restarter read. */
export interface ServiceConfig {
  name: string;
  kind: ServiceKind;
  url: string;
  fallbackUrls: string[];
  unit?: string;
  model?: string;
  labels: Record<string, string>;
  path?: string;
  expectStatus?: number;
  expectBody?: string;
  metrics: boolean | 'auto';
  metricsPath: string;
  deepProbe?: DeepProbeConfig;
  interval: number;
  timeout: number;
  retries: number;
  retryDelay: number;
  startupGrace: number;
  recoverAfter: number;
  stallAfter: number;
  slowAfter?: number;
}

export interface RestartConfig {
  enabled: boolean;
  /** argv prefix, e.g. ['systemctl'] or ['sudo', '-n', 'systemctl'] */
  systemctl: string[];
  maxRestarts: number;
  window: number;
  backoff: number;
  timeout: number;
  journal: boolean;
  journalLines: number;
  /** the operator's own secret patterns, on top of the built-in ones (agent/restart/redact-evidence.ts) */
  redact: string[];
}

export interface CoordinatorLinkConfig {
  urls: string[];
  token: string;
  spoolDir: string;
  spoolMaxBytes: number;
  fsync: 'always' | 'batch' | 'never';
  heartbeat: number;
  reconnectMax: number;
  /** PEM contents read at start; absent: system CAs, no client certificate */
  tls?: PemFiles;
}

export interface GpuConfig {
  enabled: boolean | 'auto';
  interval: number;
  command: string;
  temperatureWarn: number;
  memoryWarnPercent: number;
}

export interface AgentConfig {
  file: string;
  agent: { id: string; labels: Record<string, string> };
  coordinator?: CoordinatorLinkConfig;
  services: ServiceConfig[];
  restart: RestartConfig;
  gpu: GpuConfig;
  log: { file?: string; level: string };
  /** the agent's own Prometheus endpoint; absent: none (prom-client is not even loaded) */
  metrics?: AgentMetricsConfig;
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  return (compiled ??= configAjv().compile(agentConfigSchema));
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function loadAgentConfig(file: string, options: LoadOptions = {}): AgentConfig {
  return parseAgentConfig(file, readConfigFile(file), options);
}

export function parseAgentConfig(file: string, text: string, options: LoadOptions = {}): AgentConfig {
  const loaded = loadYamlConfig<Raw>(file, text, validator(), options);
  const raw = loaded.raw;
  const issues: ConfigIssue[] = [];
  // The checks below also run when the schema refused parts of the file (every problem is
  // reported at once), so they read each value defensively.
  const defaults = asMapping(raw.defaults);
  const seen = new Map<string, number>();
  const rawServices = Array.isArray(raw.services) ? (raw.services as unknown[]) : [];
  const services: ServiceConfig[] = rawServices.map((item, i) => {
    const s = asMapping(item);
    const first = seen.get(s.name);
    if (first !== undefined) issues.push({ path: `services[${i}].name`, message: `duplicate service name ${JSON.stringify(s.name)} (first used at services[${first}])` });
    else if (typeof s.name === 'string') seen.set(s.name, i);
    const wantTcp = s.kind === 'tcp';
    const fallbackUrls: unknown[] = Array.isArray(s.fallbackUrls) ? s.fallbackUrls : [];
    for (const [j, u] of [s.url, ...fallbackUrls].entries()) {
      const isTcp = urlProtocol(u);
      if (isTcp === undefined || isTcp === 'tcp:' === wantTcp) continue;
      issues.push({
        path: j === 0 ? `services[${i}].url` : `services[${i}].fallbackUrls[${j - 1}]`,
        message: wantTcp ? `kind tcp expects a tcp://host:port URL, got ${JSON.stringify(u)}` : `kind ${s.kind} expects an http:// or https:// URL, got ${JSON.stringify(u)}`,
      });
    }
    const merged: Raw = {};
    for (const k of timingKeys) merged[k] = s[k] ?? defaults[k];
    let deep: DeepProbeConfig | undefined;
    const deepDefaults: DeepProbeConfig = { every: 60_000, timeout: 30_000, vision: false, prompt: 'Say OK.' };
    if (s.deepProbe === true) deep = deepDefaults;
    else if (s.deepProbe && typeof s.deepProbe === 'object') deep = { ...deepDefaults, ...(s.deepProbe as Partial<DeepProbeConfig>) };
    if (deep && (s.kind === 'http' || s.kind === 'tcp')) issues.push({ path: `services[${i}].deepProbe`, message: `kind ${s.kind} has no deep probe; remove deepProbe or use an LLM server kind` });
    return {
      name: s.name,
      kind: s.kind,
      url: stripSlash(s.url),
      fallbackUrls: fallbackUrls.map(stripSlash),
      unit: s.unit,
      model: s.model,
      labels: s.labels ?? {},
      path: s.path,
      expectStatus: s.expectStatus,
      expectBody: s.expectBody,
      metrics: s.metrics,
      metricsPath: s.metricsPath,
      deepProbe: deep,
      ...(merged as Pick<ServiceConfig, (typeof timingKeys)[number]>),
    };
  });

  let coordinator: CoordinatorLinkConfig | undefined;
  if (raw.coordinator && typeof raw.coordinator === 'object') {
    const c = raw.coordinator as Raw;
    let token: string | undefined = c.token;
    if (c.token && c.tokenFile) issues.push({ path: 'coordinator.tokenFile', message: 'give token or tokenFile, not both' });
    if (!token && typeof c.tokenFile === 'string' && c.tokenFile) {
      try {
        token = readFileSync(c.tokenFile, 'utf8').trim();
      } catch (err) {
        issues.push({ path: 'coordinator.tokenFile', message: `cannot read token file ${JSON.stringify(c.tokenFile)}: ${(err as Error).message}` });
      }
    }
    if (!token && !c.tokenFile && !loaded.placeholders.has('coordinator.token')) issues.push({ path: 'coordinator.token', message: 'is required (or tokenFile) when a coordinator is configured' });
    const urls: string[] = (Array.isArray(c.url) ? c.url : [c.url]).filter((u: unknown): u is string => typeof u === 'string');
    const tls = parseLinkTls(c, urls, dirname(resolve(file)), issues);
    coordinator = {
      urls,
      token: token ?? '',
      spoolDir: c.spoolDir,
      spoolMaxBytes: c.spoolMaxBytes,
      fsync: c.fsync,
      heartbeat: c.heartbeat,
      reconnectMax: c.reconnectMax,
      ...(tls ? { tls } : {}),
    };
  }

  const r = asMapping(raw.restart);
  if (Array.isArray(r.redact)) issues.push(...redactPatternIssues(r.redact.filter((p: unknown): p is string => typeof p === 'string')));
  const metrics = parseAgentMetrics(raw.metrics, issues);
  finishConfig(loaded, issues);
  const agent = asMapping(raw.agent);
  return {
    file,
    agent: { id: agent.id ?? hostname(), labels: agent.labels ?? {} },
    coordinator,
    services,
    restart: { ...(r as RestartConfig), systemctl: Array.isArray(r.systemctl) ? r.systemctl : [r.systemctl] },
    gpu: raw.gpu as GpuConfig,
    log: raw.log as AgentConfig['log'],
    ...(metrics ? { metrics } : {}),
  };
}

/** `tcp:`, `http:`, ... of a URL the schema may have refused; undefined when it is none. */
function urlProtocol(u: unknown): string | undefined {
  if (typeof u !== 'string') return undefined;
  try {
    return new URL(u).protocol;
  } catch {
    return undefined;
  }
}

/** `coordinator.ca/cert/key`: read now, so an unreadable file stops the start naming its key. */
function parseLinkTls(c: Raw, urls: string[], base: string, issues: ConfigIssue[]): PemFiles | undefined {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => c[k] !== undefined);
  if (given.length === 0) return undefined;
  if (!urls.some((u) => u.startsWith('wss:'))) issues.push({ path: `coordinator.${given[0]}`, message: 'is only used with a wss:// coordinator.url' });
  if ((c.cert === undefined) !== (c.key === undefined)) issues.push({ path: `coordinator.${c.cert === undefined ? 'cert' : 'key'}`, message: `is required with coordinator.${c.cert === undefined ? 'key' : 'cert'} (a client certificate and its key)` });
  return readPemFiles(base, c, 'coordinator', issues);
}

/**
 * Each `restart.redact` entry must compile now: a broken pattern found at the first restart
 * would mean evidence going out unredacted, or no evidence at all, when it matters most. One
 * that matches the empty string would mark every position of every line.
 */
function redactPatternIssues(patterns: string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  patterns.forEach((pattern, i) => {
    const path = `restart.redact[${i}]`;
    let re: RegExp;
    try {
      re = new RegExp(pattern, 'g');
    } catch (err) {
      issues.push({ path, message: `expected a JavaScript regular expression, got ${JSON.stringify(pattern)} (${(err as Error).message})` });
      return;
    }
    if (re.test('')) issues.push({ path, message: `expected a pattern that matches some text, got ${JSON.stringify(pattern)}, which matches the empty string` });
  });
  return issues;
}

function stripSlash(url: unknown): string {
  return typeof url === 'string' ? url.replace(/\/+$/, '') : (url as string);
}
