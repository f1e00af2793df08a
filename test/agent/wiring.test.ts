import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProbeRuntime } from '../../agent/wiring.js';
import { systemClock } from '../../shared/clock.js';
import { parseAgentConfig } from '../../shared/config/agent-config.js';

test('a closed keep-alive connection to the primary URL is reported to its service only', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = parseAgentConfig(
    'lost.yaml',
    `agent: { id: t }
services:
  - { name: a, kind: http, url: "http://127.0.0.1:${port}", interval: 1s, timeout: 1s }
  - { name: b, kind: http, url: "http://127.0.0.1:1", interval: 1s, timeout: 1s, retries: 1 }
`,
  );
  const runtime = createProbeRuntime({ clock: systemClock });
  try {
    const a = runtime.forService(config.services[0]!);
    const b = runtime.forService(config.services[1]!);
    const lost: string[] = [];
    a.onConnectionLost(() => lost.push('a'));
    b.onConnectionLost(() => lost.push('b'));
    const hooks = { crashEvidence: async () => false, onAttemptFailed: () => {} };
    assert.equal((await a.runRound(hooks)).outcome, 'ok');
    assert.deepEqual(lost, [], 'an answered request closes nothing');
    // what the kernel does when the server process dies: its end of the socket closes
    server.closeAllConnections();
    const deadline = Date.now() + 2_000;
    while (!lost.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(lost, ['a']);
  } finally {
    await runtime.close();
    await new Promise((r) => server.close(r));
  }
});
