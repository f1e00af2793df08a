/**
 * The agent's link over wss:// against a real coordinator serving TLS: it verifies the
 * coordinator with the configured CA, says why when it cannot, and presents a client
 * certificate when the coordinator requires one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoordinatorLink } from '../../../agent/link/client.js';
import { EventLog } from '../../../agent/events.js';
import { parseAgentConfig } from '../../../shared/config/agent-config.js';
import { SystemClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { AGENT_TOKEN, eventually, startTestCoordinator, wsUrl, type TestCoordinator } from '../../coordinator/helpers.js';
import { makeTlsFixtures, type TlsFixtures } from '../../helpers/tls.js';

let pki: TlsFixtures;
before(() => {
  pki = makeTlsFixtures();
});
after(() => pki.cleanup());

const serverTls = (clientCerts = 'none') =>
  `tls: { cert: ${pki.serverCert}, key: ${pki.serverKey}${clientCerts === 'none' ? '' : `, ca: ${pki.caCert}, clientCerts: ${clientCerts}`} }`;

interface RunningLink {
  link: CoordinatorLink;
  events: EventLog;
  logs: () => string;
  stop(): Promise<void>;
}

/** An agent link configured from YAML, as the agent daemon builds it, with its log captured. */
function startLink(agentId: string, coordinatorYaml: string): RunningLink {
  const spoolDir = mkdtempSync(join(tmpdir(), 'llmh-tls-spool-'));
  const config = parseAgentConfig(
    join(pki.dir, `${agentId}.yaml`),
    `agent: { id: ${agentId} }
coordinator: { ${coordinatorYaml}, token: ${AGENT_TOKEN}, spoolDir: ${spoolDir}, reconnectMax: 1s }
services: [{ name: llama, kind: llamacpp, url: 'http://127.0.0.1:1' }]
`,
    { env: {} },
  );
  let captured = '';
  const destination = new Writable({ write: (chunk: Buffer, _e, cb) => ((captured += chunk.toString()), cb()) });
  const logger = createLogger({ name: 'agent', level: 'debug', destination });
  const clock = new SystemClock();
  const events = new EventLog(agentId, clock, logger);
  const link = new CoordinatorLink({
    config: config.coordinator!,
    clock,
    logger,
    events,
    source: { agentId, labels: {}, agentVersion: 'test', services: [{ name: 'llama', kind: 'llamacpp', url: 'http://127.0.0.1:1' }], snapshot: () => [], gpus: () => null },
  });
  events.addSink(link);
  link.start();
  return {
    link,
    events,
    logs: () => captured,
    stop: async () => {
      await link.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

async function streams(t: TestCoordinator, a: RunningLink, agentId: string): Promise<void> {
  await eventually(() => a.link.connected, 10_000, `${agentId} connected over wss`);
  a.events.emit({ type: 'state_changed', service: 'llama', from: 'healthy', to: 'down', reason: 'connection refused' });
  await eventually(async () => (await t.coord.store.events.lastSeq(agentId, a.events.bootId)) === 1, 10_000, 'event stored by the coordinator');
}

test('an agent with the CA in its config connects over wss:// and its events are stored', async () => {
  const t = await startTestCoordinator(serverTls());
  const a = startLink('tls-ok', `url: '${wsUrl(t.coord)}', ca: ${pki.caCert}`);
  try {
    assert.match(wsUrl(t.coord), /^wss:\/\/127\.0\.0\.1:\d+\/agent$/);
    await streams(t, a, 'tls-ok');
  } finally {
    await a.stop();
    await t.close();
  }
});

test('without the CA the agent refuses the coordinator, logs why, keeps retrying, and nothing is stored', async () => {
  const t = await startTestCoordinator(serverTls());
  const a = startLink('tls-untrusted', `url: '${wsUrl(t.coord)}'`);
  try {
    a.events.emit({ type: 'state_changed', service: 'llama', from: 'healthy', to: 'down', reason: 'connection refused' });
    await eventually(() => a.logs().includes('cannot connect to coordinator'), 10_000, 'TLS failure logged');
    const line = JSON.parse(a.logs().split('\n').find((l) => l.includes('cannot connect to coordinator'))!) as { level: number; url: string; code: string; reason: string; msg: string };
    assert.equal(line.level, 50, 'logged as an error');
    assert.equal(line.url, wsUrl(t.coord));
    // the coordinator sends its certificate alone, so OpenSSL cannot even find the issuer
    assert.match(line.code, /^UNABLE_TO_(?:VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT_LOCALLY)$/);
    assert.match(line.msg, /not trusted .*set coordinator\.ca/);
    // retries with backoff (reconnectMax 1s) rather than giving up or crashing
    const attempts = () => a.logs().split('\n').filter((l) => l.includes('cannot connect to coordinator'));
    await eventually(() => attempts().length >= 3, 10_000, 'more attempts');
    assert.ok(attempts().slice(1).every((l) => (JSON.parse(l) as { level: number }).level === 20), 'the same failure again is logged at debug, not as a new error');
    assert.equal(a.link.connected, false);
    assert.equal(a.link.pendingEvents, 1, 'the event waits in the spool');
    assert.equal(await t.coord.store.events.lastSeq('tls-untrusted', a.events.bootId), null);
    assert.equal(t.coord.hub.connectedAgents.length, 0);
  } finally {
    await a.stop();
    await t.close();
  }
});

test('a certificate for another host: the agent names the hostname mismatch and sends nothing', async () => {
  const t = await startTestCoordinator(`tls: { cert: ${pki.otherHostCert}, key: ${pki.otherHostKey} }`);
  const a = startLink('tls-mismatch', `url: '${wsUrl(t.coord)}', ca: ${pki.caCert}`);
  try {
    a.events.emit({ type: 'state_changed', service: 'llama', from: 'healthy', to: 'down', reason: 'connection refused' });
    await eventually(() => a.logs().includes('cannot connect to coordinator'), 10_000, 'TLS failure logged');
    const line = JSON.parse(a.logs().split('\n').find((l) => l.includes('cannot connect to coordinator'))!) as { level: number; code: string; msg: string };
    assert.equal(line.level, 50);
    assert.equal(line.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(line.msg, /hostname mismatch: the server certificate does not name this host .*127\.0\.0\.1/);
    assert.equal(a.link.connected, false);
    assert.equal(await t.coord.store.events.lastSeq('tls-mismatch', a.events.bootId), null, 'nothing stored');
  } finally {
    await a.stop();
    await t.close();
  }
});

test('a coordinator requiring client certificates refuses an agent without one and accepts one with it', async () => {
  const t = await startTestCoordinator(serverTls('required'));
  const without = startLink('tls-no-client-cert', `url: '${wsUrl(t.coord)}', ca: ${pki.caCert}`);
  const withCert = startLink('tls-client-cert', `url: '${wsUrl(t.coord)}', ca: ${pki.caCert}, cert: ${pki.clientCert}, key: ${pki.clientKey}`);
  try {
    await streams(t, withCert, 'tls-client-cert');
    await eventually(() => without.logs().includes('cannot connect to coordinator'), 10_000, 'refusal logged');
    assert.match(without.logs(), /TLS handshake failed .*certificate required/);
    assert.equal(without.link.connected, false);
    assert.deepEqual(t.coord.hub.connectedAgents, ['tls-client-cert']);
  } finally {
    await without.stop();
    await withCert.stop();
    await t.close();
  }
});

test('plain ws:// to another machine warns once at start; loopback does not', async () => {
  const remote = startLink('plain-remote', `url: ['ws://192.0.2.1:7700/agent', 'ws://127.0.0.1:9/agent']`);
  const local = startLink('plain-local', `url: 'ws://localhost:9/agent'`);
  try {
    const warnings = remote.logs().split('\n').filter((l) => l.includes('plain ws://'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /ws:\/\/192\.0\.2\.1:7700\/agent/);
    assert.doesNotMatch(warnings[0]!, /127\.0\.0\.1:9/);
    assert.doesNotMatch(local.logs(), /plain ws:\/\//);
  } finally {
    await remote.stop();
    await local.stop();
  }
});
