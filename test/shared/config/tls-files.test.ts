/**
 * TLS keys in both configs: the PEM files are read at start, and every problem names the
 * config file, the key path and what was expected there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseCoordinatorConfig } from '../../../shared/config/coordinator-config.js';
import { parseAgentConfig } from '../../../shared/config/agent-config.js';
import { ConfigError, type ConfigIssue } from '../../../shared/errors.js';
import { makeTlsFixtures, type TlsFixtures } from '../../helpers/tls.js';

let pki: TlsFixtures;
before(() => {
  pki = makeTlsFixtures();
});
after(() => pki.cleanup());

const coordFile = () => join(pki.dir, 'coordinator.yaml');
const agentFile = () => join(pki.dir, 'agent.yaml');
const coordinator = (tls: string) => `auth: { agentTokens: [t] }\n${tls}\n`;
const agent = (link: string) => `coordinator: { token: t, ${link} }\nservices: [{ name: s, kind: tcp, url: 'tcp://127.0.0.1:1' }]\n`;

function issuesOf(parse: () => unknown, file: string): ConfigIssue[] {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    for (const line of err.message.split('\n')) assert.ok(line.startsWith(`${file}: `), line);
    return err.issues;
  }
  return assert.fail('expected a ConfigError');
}

function issueAt(issues: ConfigIssue[], path: string, message: RegExp): void {
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  assert.match(hit.message, message);
}

test('coordinator tls: paths resolve against the config file, clientCerts defaults to none', () => {
  const c = parseCoordinatorConfig(coordFile(), coordinator('tls: { cert: server.crt, key: server.key }'), { env: {} });
  assert.deepEqual(c.tls, { cert: pki.serverCert, key: pki.serverKey, clientCerts: 'none' });
  assert.deepEqual(c.http, { allowedHosts: [] });
  assert.equal(parseCoordinatorConfig(coordFile(), coordinator('http: { allowedHosts: [Fleet.Example.com] }'), { env: {} }).tls, undefined);
});

test('coordinator tls: unreadable files, a key that does not match, and missing keys are named', () => {
  const file = coordFile();
  const parse = (tls: string) => issuesOf(() => parseCoordinatorConfig(file, coordinator(tls), { env: {} }), file);
  issueAt(parse('tls: { cert: missing.crt, key: server.key }'), 'tls.cert', /cannot read "missing\.crt": ENOENT/);
  issueAt(parse(`tls: { cert: ${pki.serverCert}, key: ${pki.clientKey} }`), 'tls.key', /expected the PEM private key of the certificate in cert: .*mismatch/i);
  issueAt(parse(`tls: { cert: ${pki.serverKey}, key: ${pki.serverKey} }`), 'tls.cert', /expected a PEM certificate/);
  issueAt(parse('tls: { cert: server.crt }'), 'tls.key', /is required/);
  issueAt(parse('tls: { cert: server.crt, key: server.key, clientCerts: required }'), 'tls.ca', /is required with tls\.clientCerts: required/);
  issueAt(parse('tls: { cert: server.crt, key: server.key, ca: ca.crt }'), 'tls.ca', /set tls\.clientCerts/);
  issueAt(parse('tls: { cert: server.crt, key: server.key, ca: server.key, clientCerts: optional }'), 'tls.ca', /expected PEM CA certificate/);
  issueAt(parse('tls: { cert: server.crt, key: server.key, clientCerts: maybe }'), 'tls.clientCerts', /expected one of "none", "optional", "required"/);
  issueAt(parse('http: { allowedHosts: ["http://x"] }'), 'http.allowedHosts[0]', /host name/);
});

test('agent coordinator ca/cert/key: read at start, relative to the config file', () => {
  const c = parseAgentConfig(agentFile(), agent(`url: 'wss://127.0.0.1:7700/agent', ca: ca.crt, cert: client.crt, key: client.key`), { env: {} });
  assert.match(c.coordinator!.tls!.ca!, /BEGIN CERTIFICATE/);
  assert.match(c.coordinator!.tls!.key!, /PRIVATE KEY/);
  assert.equal(parseAgentConfig(agentFile(), agent(`url: 'wss://127.0.0.1:7700/agent'`), { env: {} }).coordinator!.tls, undefined, 'system CAs');
});

test('agent coordinator ca/cert/key: problems name the key', () => {
  const file = agentFile();
  const parse = (link: string) => issuesOf(() => parseAgentConfig(file, agent(link), { env: {} }), file);
  issueAt(parse(`url: 'wss://127.0.0.1:7700/agent', ca: nope.crt`), 'coordinator.ca', /cannot read "nope\.crt"/);
  issueAt(parse(`url: 'wss://127.0.0.1:7700/agent', cert: client.crt`), 'coordinator.key', /is required with coordinator\.cert/);
  issueAt(parse(`url: 'ws://127.0.0.1:7700/agent', ca: ca.crt`), 'coordinator.ca', /only used with a wss:\/\//);
  issueAt(parse(`url: 'wss://127.0.0.1:7700/agent', cert: client.crt, key: server.key`), 'coordinator.key', /private key of the certificate/);
});
