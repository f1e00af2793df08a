import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetText, startFeedLoad } from '../../bench/lib/feed-load.js';
import { AGENT_TOKEN, startTestCoordinator } from '../coordinator/helpers.js';

const AGENTS = 1000;
const CLIENTS = 50;
const DEADLINE_MS = 60_000;

// 50 feed clients while 1,000 simulated agents connect, go down, report probes and recover:
// every client's copy ends equal to GET /api/v1/fleet, with no gap and no invalid message.
// Pings are slowed down (heartbeatInterval 10m) so lastSeen stands still at the end and the
// copies can be compared whole.
test('feed load: 50 clients converge while 1,000 agents report', { timeout: DEADLINE_MS + 30_000 }, async () => {
  const started = Date.now();
  const tc = await startTestCoordinator('fleet: { heartbeatInterval: 10m, agentLostAfter: 30m, retireAfter: 7d }');
  const load = await startFeedLoad(tc.coord.url, AGENT_TOKEN, AGENTS, CLIENTS);
  try {
    await load.fleet.setAll('down', 'connection refused', 2000, 4);
    for (const a of load.fleet.agents) a.probeRound();
    await load.fleet.setAll('healthy', 'ready', 2000, 4);
    await load.fleet.waitAllAcked(DEADLINE_MS / 2);
    const left = () => DEADLINE_MS - (Date.now() - started);
    let want = '';
    let same = 0;
    while (left() > 0) {
      want = await fleetText(tc.coord.url);
      same = load.clients.filter((c) => JSON.stringify(c.model.fleet()) === want).length;
      if (same === CLIENTS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(same, CLIENTS, 'every client converged to GET /api/v1/fleet');
    assert.equal(JSON.parse(want).hosts.length, AGENTS);
    for (const c of load.clients) {
      assert.equal(c.gaps, 0);
      assert.deepEqual(c.invalid, []);
    }
    assert.ok(Date.now() - started < DEADLINE_MS, `bounded: took ${Date.now() - started} ms`);
  } finally {
    load.close();
    await tc.close();
  }
});
