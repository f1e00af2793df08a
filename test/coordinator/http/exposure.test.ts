import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposureWarnings } from '../../../coordinator/http/exposure.js';
import { VIEWER_TOKEN, startTestCoordinator } from '../helpers.js';

const auth = (viewerTokens: string[]) => ({ agentTokens: [{ token: 'a', agents: null, source: 'auth.agentTokens[0]' }], adminTokens: [], viewerTokens, evidenceWithoutToken: false });
const tls = { cert: '/c', key: '/k', clientCerts: 'none' as const };

test('no warning on loopback, whatever the auth and TLS', () => {
  for (const host of ['127.0.0.1', '::1', 'localhost']) assert.deepEqual(exposureWarnings({ listen: { host, port: 7700 }, auth: auth([]) }), [], host);
});

test('non-loopback: one warning for an open read API, one for plain HTTP', () => {
  const listen = { host: '0.0.0.0', port: 7700 };
  const both = exposureWarnings({ listen, auth: auth([]) });
  assert.equal(both.length, 2);
  assert.match(both[0]!, /read API is open.*auth\.viewerTokens/);
  assert.match(both[1]!, /without TLS.*tls\.cert/);
  assert.deepEqual(exposureWarnings({ listen, auth: auth(['v']), tls }), []);
  assert.match(exposureWarnings({ listen: { host: '10.0.0.5', port: 7700 }, auth: auth(['v']) }).join(), /without TLS/);
  assert.match(exposureWarnings({ listen: { host: '::', port: 7700 }, auth: auth([]), tls }).join(), /read API is open/);
});

test('the coordinator logs the warnings at start when bound to all interfaces', async () => {
  const exposed = await startTestCoordinator('', {}, { host: '0.0.0.0' });
  const guarded = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
  try {
    const warns = exposed.logs().split('\n').filter((l) => l.includes('"level":40'));
    assert.ok(warns.some((l) => /read API is open/.test(l)), exposed.logs());
    assert.ok(warns.some((l) => /without TLS/.test(l)), exposed.logs());
    assert.doesNotMatch(guarded.logs(), /reachable from other machines/);
  } finally {
    await exposed.close();
    await guarded.close();
  }
});
