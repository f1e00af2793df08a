import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoordinatorConfig, type NotifierConfig } from '../../../shared/config/coordinator-config.js';
import { ConfigError } from '../../../shared/errors.js';
import { silentLogger } from '../../../shared/logger.js';
import { createNotifier, notifierFactories } from '../../../coordinator/notify/registry.js';
import { RECEIVER_TYPES } from '../../../coordinator/notify/types.js';

/** The notify section (docs/configuration.md) as the notifiers need it, and the registry that builds them. */

const FILE = '/etc/llm-health/coordinator.yaml';
const MINIMAL = 'auth:\n  agentTokens: [a-token]\n';

function parse(notify: string, env: NodeJS.ProcessEnv = {}) {
  return parseCoordinatorConfig(FILE, `${MINIMAL}notify:\n${notify}`, { env }).notify;
}

function issuesOf(notify: string): { path: string; message: string }[] {
  try {
    parse(notify);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

function issueAt(notify: string, path: string, message?: RegExp): void {
  const all = issuesOf(notify);
  const hit = all.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(all)}`);
  if (message) assert.match(hit.message, message);
}

test('config: smtp defaults, auth from user/pass shorthand, TLS options, subjectPrefix, minInterval, headers', () => {
  const [mail, mail2, hook, slack] = parse(
    [
      '  - name: mail',
      '    type: email',
      '    smtp: { host: smtp.example.com, user: alerts, pass: "${SMTP_PASS}" }',
      '    from: llm-health@example.com',
      '    to: [ops@example.com]',
      '    subjectPrefix: "[prod] "',
      '  - name: mail2',
      '    type: email',
      '    smtp:',
      '      host: smtp.example.com',
      '      port: 587',
      '      requireTLS: true',
      '      tls: { servername: mail.example.com }',
      '      auth: { user: a, pass: b }',
      '      pool: false',
      '    from: llm-health@example.com',
      '    to: [ops@example.com]',
      '  - name: hook',
      '    type: webhook',
      '    url: http://127.0.0.1:9000/hook',
      '    headers: { Authorization: "Bearer ${HOOK_TOKEN}" }',
      '    minInterval: 250ms',
      '  - name: slack',
      '    type: slack',
      '    url: https://hooks.slack.com/services/T/B/X',
      '    timeout: 5s',
    ].join('\n'),
    { SMTP_PASS: 'pw', HOOK_TOKEN: 'tok' },
  );
  assert.deepEqual(mail!.smtp, { host: 'smtp.example.com', port: 25, secure: false, requireTLS: false, ignoreTLS: false, auth: { user: 'alerts', pass: 'pw' }, pool: true, maxConnections: 2 });
  assert.equal(mail!.subjectPrefix, '[prod] ');
  assert.deepEqual(mail2!.smtp, {
    host: 'smtp.example.com',
    port: 587,
    secure: false,
    requireTLS: true,
    ignoreTLS: false,
    tls: { rejectUnauthorized: true, servername: 'mail.example.com' },
    auth: { user: 'a', pass: 'b' },
    pool: false,
    maxConnections: 2,
  });
  assert.deepEqual(hook!.headers, { Authorization: 'Bearer tok' });
  assert.equal(hook!.minInterval, 250);
  assert.equal(slack!.minInterval, undefined);
  assert.equal(slack!.timeout, 5000);
});

test('config: conflicting and misplaced notifier keys name their key paths', () => {
  const mail = (smtp: string) => `  - name: m\n    type: email\n    smtp: ${smtp}\n    from: a@b.c\n    to: [x@y.z]\n`;
  issueAt(mail('{ host: h, requireTLS: true, ignoreTLS: true }'), 'notify[0].smtp.ignoreTLS', /conflicts with smtp.requireTLS/);
  issueAt(mail('{ host: h, secure: true, ignoreTLS: true }'), 'notify[0].smtp.ignoreTLS', /secure/);
  issueAt(mail('{ host: h, user: u, pass: p, auth: { user: u, pass: p } }'), 'notify[0].smtp.auth', /not both/);
  issueAt(mail('{ host: h, user: u }'), 'notify[0].smtp.pass', /required with smtp.user/);
  issueAt(mail('{ host: h, pass: p }'), 'notify[0].smtp.user', /required with smtp.pass/);
  issueAt(mail('{ host: h, auth: { user: u } }'), 'notify[0].smtp.auth.pass', /required/);
  issueAt(mail('{ host: h, tls: { verify: false } }'), 'notify[0].smtp.tls.verify', /unknown key/);
  issueAt(mail('{ host: h, maxConnections: 0 }'), 'notify[0].smtp.maxConnections');
  issueAt('  - name: s\n    type: slack\n    url: http://x\n    headers: { A: b }\n', 'notify[0].headers', /only used by types webhook, alertmanager/);
  issueAt('  - name: s\n    type: slack\n    url: http://x\n    subjectPrefix: x\n', 'notify[0].subjectPrefix', /only used by type email/);
  issueAt('  - name: s\n    type: webhook\n    url: http://x\n    minInterval: soon\n', 'notify[0].minInterval', /duration/);
  issueAt('  - name: s\n    type: webhook\n    url: http://x\n    headers: { A: 1 }\n', 'notify[0].headers.A', /header value/);
  assert.ok(issuesOf('  - name: s\n    type: webhook\n    url: http://x\n    headers: { "bad header": x }\n').some((i) => i.path.startsWith('notify[0].headers')));
});

test('registry: one factory per receiver type; each builds its notifier with defaults and overrides', async () => {
  assert.deepEqual(Object.keys(notifierFactories).sort(), [...RECEIVER_TYPES].sort());
  const base = { match: {}, timeout: 2000 } as const;
  const configs: NotifierConfig[] = [
    { ...base, name: 's', type: 'slack', url: 'https://hooks.slack.com/services/T1/B1/slacksecret' },
    { ...base, name: 'd', type: 'discord', url: 'https://discord.com/api/webhooks/1/discordsecret', minInterval: 5000 },
    { ...base, name: 'w', type: 'webhook', url: 'http://127.0.0.1:9/hooksecret' },
    { ...base, name: 'a', type: 'alertmanager', url: 'http://127.0.0.1:9093' },
    {
      ...base,
      name: 'e',
      type: 'email',
      smtp: { host: '127.0.0.1', port: 25, secure: false, requireTLS: false, ignoreTLS: false, auth: { user: 'u', pass: 'smtpsecret' }, pool: true, maxConnections: 1 },
      from: 'a@b.c',
      to: ['x@y.z'],
    },
  ];
  const built = configs.map((c) => createNotifier(c, { logger: silentLogger() }));
  assert.deepEqual(
    built.map((n) => [n.name, n.type, n.minIntervalMs, n.timeoutMs]),
    [
      ['s', 'slack', 1000, 2000],
      ['d', 'discord', 5000, 2000],
      ['w', 'webhook', 0, 2000],
      ['a', 'alertmanager', 0, 2000],
      ['e', 'email', 0, 2000],
    ],
  );
  for (const n of built) assert.ok(!/secret/.test(n.describe()), n.describe());
  assert.throws(() => createNotifier({ ...base, name: 'x', type: 'slack' }, { logger: silentLogger() }), /needs url/);
  await Promise.all(built.map((n) => n.close?.()));
});
