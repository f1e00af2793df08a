/**
 * The coordinator serving https:// and wss:// itself: certificate reload for new connections
 * only, a bad file at reload keeping the old certificate, and optional client certificates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import WebSocket from 'ws';
import { join } from 'node:path';
import { TestAgent, requestText, startTestCoordinator, wsUrl, eventually } from '../helpers.js';
import { fingerprint, makeTlsFixtures, servedFingerprint, type TlsFixtures } from '../../helpers/tls.js';

let pki: TlsFixtures;
before(() => {
  pki = makeTlsFixtures();
});
after(() => pki.cleanup());

test('serves the API over https and swaps the certificate on reload without dropping agents', async () => {
  // the coordinator reads copies, so the test can overwrite them the way a renewal does
  const cert = join(pki.dir, 'live.crt');
  const key = join(pki.dir, 'live.key');
  copyFileSync(pki.serverCert, cert);
  copyFileSync(pki.serverKey, key);
  const t = await startTestCoordinator(`tls: { cert: ${cert}, key: ${key} }`);
  try {
    assert.match(t.coord.url, /^https:\/\//);
    const health = await requestText(request, { host: '127.0.0.1', port: t.coord.port, path: '/healthz', ca: readFileSync(pki.caCert) });
    assert.equal(health.status, 200);
    assert.equal(await servedFingerprint(t.coord.port, pki.caCert), fingerprint(pki.serverCert));
    const agent = await TestAgent.connect(wsUrl(t.coord), undefined, { ca: readFileSync(pki.caCert) });

    copyFileSync(pki.renewedCert, cert);
    copyFileSync(pki.renewedKey, key);
    assert.equal(t.coord.reloadTls(), true);
    assert.equal(await servedFingerprint(t.coord.port, pki.caCert), fingerprint(pki.renewedCert), 'a new connection sees the new certificate');
    assert.equal(agent.ws.readyState, WebSocket.OPEN, 'the connection made before the reload stays open');
    assert.match(t.logs(), /TLS certificate reloaded/);

    writeFileSync(key, 'not a key\n');
    assert.equal(t.coord.reloadTls(), false);
    const line = t.logs().split('\n').find((l) => l.includes('TLS reload failed'));
    assert.ok(line, t.logs());
    assert.match(line, /"level":50/);
    assert.match(line, new RegExp(`tls\\.key: ${key.replace(/[.]/g, '\\.')}`));
    assert.equal(await servedFingerprint(t.coord.port, pki.caCert), fingerprint(pki.renewedCert), 'the previous certificate is still served');
    await agent.closeAndWait();
  } finally {
    await t.close();
  }
});

test('clientCerts optional: no certificate and a CA-signed one get in, one the CA never signed is refused', async () => {
  const t = await startTestCoordinator(`tls: { cert: ${pki.serverCert}, key: ${pki.serverKey}, ca: ${pki.caCert}, clientCerts: optional }`);
  const ca = readFileSync(pki.caCert);
  try {
    const plain = await TestAgent.connect(wsUrl(t.coord), undefined, { ca });
    const signed = await TestAgent.connect(wsUrl(t.coord), undefined, { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
    await assert.rejects(TestAgent.connect(wsUrl(t.coord), undefined, { ca, cert: readFileSync(pki.strangerCert), key: readFileSync(pki.strangerKey) }));
    await eventually(() => t.logs().includes('refused a client certificate'), 5000, 'refusal logged');
    await plain.closeAndWait();
    await signed.closeAndWait();
  } finally {
    await t.close();
  }
});

test('reloadTls without a tls section says so and changes nothing', async () => {
  const t = await startTestCoordinator();
  try {
    assert.equal(t.coord.reloadTls(), false);
    assert.match(t.logs(), /nothing to reload/);
  } finally {
    await t.close();
  }
});
