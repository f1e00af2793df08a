/**
 * The coordinator and status commands as processes over TLS: SIGHUP swaps the certificate,
 * `status` trusts a private CA through NODE_EXTRA_CA_CERTS, an unreadable key stops the start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, runCli, spawnCoordinator } from '../helpers/cli.js';
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

test('tls.clientCerts required: commands present the client certificate from LLM_HEALTH_CLIENT_CERT/KEY', async () => {
  const file = join(pki.dir, 'mtls.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndataDir: ./data-mtls\nauth: { agentTokens: [t0123456789], adminTokens: [admin-0123456789] }\ntls: { cert: server.crt, key: server.key, ca: ca.crt, clientCerts: required }\n`);
  const c = await spawnCoordinator(file);
  try {
    const trustCa = { NODE_EXTRA_CA_CERTS: pki.caCert };
    const withCert = { ...trustCa, LLM_HEALTH_CLIENT_CERT: pki.clientCert, LLM_HEALTH_CLIENT_KEY: pki.clientKey };
    const refused = await runCli(['status', '--url', c.url], trustCa);
    assert.equal(refused.code, 1, 'no certificate: the handshake is refused');
    assert.match(refused.stderr, /cannot reach the coordinator/);

    const status = await runCli(['status', '--url', c.url], withCert);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /no agents have connected/);
    assert.match(await firstWatchFrame(c.url, withCert), /"hosts":\[\]/, 'the feed (a WebSocket) presents it too');
    const jobs = await runCli(['restarts', 'list', '--url', c.url, '--token', 'admin-0123456789'], withCert);
    assert.equal(jobs.code, 0, jobs.stderr);

    const half = await runCli(['status', '--url', c.url], { ...trustCa, LLM_HEALTH_CLIENT_CERT: pki.clientCert });
    assert.equal(half.code, 2);
    assert.match(half.stderr, /set both LLM_HEALTH_CLIENT_CERT and LLM_HEALTH_CLIENT_KEY/);
  } finally {
    c.child.kill('SIGKILL');
  }
});

/** The first frame `status --watch --json` prints (then SIGINT), or what it printed within 10 s. */
async function firstWatchFrame(url: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'status', '--watch', '--json', '--url', url], { env: { ...process.env, LLM_HEALTH_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGINT');
  await exited;
  return out;
}
