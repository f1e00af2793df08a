/**
 * The coordinator and status commands as processes over TLS: SIGHUP swaps the certificate,
 * `status` trusts a private CA through NODE_EXTRA_CA_CERTS, an unreadable key stops the start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCoordinator } from '../helpers/cli.js';
import { eventually } from '../coordinator/helpers.js';
import { fingerprint, makeTlsFixtures, servedFingerprint, type TlsFixtures } from '../helpers/tls.js';

let pki: TlsFixtures;
before(() => {
  pki = makeTlsFixtures();
});
after(() => pki.cleanup());

test('llm-health coordinator with tls: https URL, SIGHUP reloads the certificate, status needs the CA', async () => {
  copyFileSync(pki.serverCert, join(pki.dir, 'live.crt'));
  copyFileSync(pki.serverKey, join(pki.dir, 'live.key'));
  const file = join(pki.dir, 'coordinator.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndataDir: ./data\nauth: { agentTokens: [t0123456789] }\ntls: { cert: live.crt, key: live.key }\n`);
  const c = await spawnCoordinator(file);
  try {
    assert.match(c.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(c.stdout(), /"agentUrl":"wss:\/\/127\.0\.0\.1:\d+\/agent"/);
    const port = Number(new URL(c.url).port);

    const trusted = await runCli(['status', '--url', c.url], { NODE_EXTRA_CA_CERTS: pki.caCert });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(trusted.stdout, /no agents have connected/);
    const untrusted = await runCli(['status', '--url', c.url], { NODE_EXTRA_CA_CERTS: '' });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /cannot reach the coordinator at https:\/\/127\.0\.0\.1:\d+: the server certificate is not trusted .*NODE_EXTRA_CA_CERTS/);

    assert.equal(await servedFingerprint(port, pki.caCert), fingerprint(pki.serverCert));
    copyFileSync(pki.renewedCert, join(pki.dir, 'live.crt'));
    copyFileSync(pki.renewedKey, join(pki.dir, 'live.key'));
    c.child.kill('SIGHUP');
    await eventually(() => c.stdout().includes('TLS certificate reloaded'), 10_000, 'reload logged');
    assert.equal(await servedFingerprint(port, pki.caCert), fingerprint(pki.renewedCert));
    c.child.kill('SIGTERM');
    assert.equal(await c.exited, 0, c.stderr());
  } finally {
    c.child.kill('SIGKILL');
  }
});

test('llm-health coordinator: an unreadable tls.key exits 2 naming file, key and path', async () => {
  const file = join(pki.dir, 'bad.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\nauth: { agentTokens: [t0123456789] }\ntls: { cert: server.crt, key: gone.key }\n`);
  const ran = await runCli(['coordinator', '-c', file]);
  assert.equal(ran.code, 2);
  assert.ok(ran.stderr.includes(`${file}: tls.key: cannot read "gone.key"`), ran.stderr);
});
