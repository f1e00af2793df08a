import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeedClient } from '../../../bench/lib/feed-client.js';
import type { FeedDelta } from '../../../shared/feed/messages.js';
import { parseFeedMessage } from '../../../shared/feed/parse.js';
import { event, events, gpu, iso, probes, snapshot } from '../protocol-samples.js';
import { eventually, getJson, startTestCoordinator, TestAgent, wsUrl } from '../helpers.js';

// The live feed over real WebSockets: snapshot on connect, then deltas in seq order that
// bring every client's copy to what GET /api/v1/fleet and /api/v1/alerts answer.

async function converged(c: FeedClient, base: string): Promise<boolean> {
  const [fleet, alerts] = await Promise.all([getJson(`${base}/api/v1/fleet`), getJson(`${base}/api/v1/alerts`)]);
  return JSON.stringify(c.model.fleet()) === JSON.stringify(fleet.body) && JSON.stringify(c.model.alerts()) === JSON.stringify(alerts.body.alerts);
}

test('feed: a snapshot, then ordered deltas for scripted agent changes; the copy converges to GET /api/v1/fleet', async () => {
  const tc = await startTestCoordinator();
  const base = tc.coord.url;
  const early = await FeedClient.connect(base, { keep: true });
  const { agent } = await TestAgent.hello(wsUrl(tc.coord), 'gpu-a', 'boot1');
  try {
    await early.waitFor(() => early.model.fleet().hosts.some((h) => h.id === 'gpu-a'), 5000, 'host gpu-a');
    agent.send(snapshot({ llama: 'healthy', qwen: 'healthy' }));
    const now = Date.now();
    agent.send(events([event(1, { at: iso(now), from: 'healthy', to: 'down', reason: 'crashed' }), event(2, { at: iso(now + 1), type: 'restart_started', from: undefined, to: undefined, reason: 'restarting' })]));
    await agent.ackedUpTo(2);
    agent.send(probes(now + 2));
    agent.send(gpu(now + 3));
    const late = await FeedClient.connect(base, { keep: true });
    try {
      await eventually(async () => (await converged(early, base)) && (await converged(late, base)), 5000, 'both copies equal the API');
      const llama = early.model.fleet().hosts[0]!.services.find((s) => s.name === 'llama')!;
      assert.equal(llama.state, 'down');
      assert.equal(llama.restarts.count, 1);
      assert.equal(early.model.fleet().hosts[0]!.gpu?.gpus[0]?.temperatureC, 90);

      for (const c of [early, late]) {
        assert.equal(c.messages[0]!.type, 'snapshot', 'the first message is a snapshot');
        const seqs = c.messages.filter((m) => m.type !== 'heartbeat').map((m) => (m as FeedDelta).seq);
        for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `consecutive seqs: ${seqs.join(',')}`);
        assert.deepEqual(c.invalid, []);
        assert.equal(c.gaps, 0);
      }
      // the state change arrived as a delta carrying the host, not only in a later snapshot
      const deltas = early.messages.filter((m): m is FeedDelta => m.type === 'delta');
      assert.ok(deltas.some((d) => d.changes.some((ch) => ch.kind === 'host' && ch.host.services.some((s) => s.name === 'llama' && s.state === 'down'))));

      // the host going away arrives as a delta too (connected: false)
      await agent.closeAndWait();
      await eventually(() => early.model.fleet().hosts[0]?.connected === false, 5000, 'disconnect in the feed');
      await eventually(async () => converged(early, base), 5000, 'converged after the disconnect');
    } finally {
      late.close();
    }
  } finally {
    early.close();
    await tc.close();
  }
});

test('feed: firing alerts and their resolution arrive as alert changes', async () => {
  const tc = await startTestCoordinator();
  const base = tc.coord.url;
  const client = await FeedClient.connect(base);
  const { agent } = await TestAgent.hello(wsUrl(tc.coord), 'gpu-a', 'boot1');
  try {
    agent.send(snapshot({ llama: 'down', qwen: 'healthy' }));
    const down = () => client.model.alerts().find((a) => a.labels.alertname === 'LLMServiceDown' && a.labels.service === 'llama');
    await eventually(() => down()?.state === 'firing', 5000, 'LLMServiceDown firing in the feed');
    agent.send(events([event(1, { at: iso(Date.now()), from: 'down', to: 'healthy', reason: 'ready' })]));
    await eventually(() => down()?.state === 'resolved' && down()?.endsAt !== null, 5000, 'LLMServiceDown resolved in the feed');
    await eventually(async () => converged(client, base), 5000, 'converged with the alerts');
    // an admin forgets a disconnected host: it leaves the feed
    await agent.closeAndWait();
    await eventually(() => client.model.fleet().hosts[0]?.connected === false, 5000, 'disconnected');
    tc.coord.fleet.forget('gpu-a');
    await eventually(() => client.model.fleet().hosts.length === 0, 5000, 'host removed from the feed');
    await eventually(async () => converged(client, base), 5000, 'converged');
    assert.deepEqual(client.invalid, []);
    assert.equal(client.gaps, 0);
  } finally {
    client.close();
    await tc.close();
  }
});

test('feed: every message the coordinator sends validates against the published schemas', () => {
  assert.equal(parseFeedMessage('{"type":"delta","v":1,"seq":1,"at":"2026-01-01T00:00:00.000Z","changes":[{"kind":"hostRemoved","id":"gpu-a"}]}').ok, true);
  assert.equal(parseFeedMessage('{"type":"delta","v":1,"seq":0,"at":"2026-01-01T00:00:00.000Z","changes":[]}').ok, false, 'seq starts at 1 and a delta changes something');
  assert.equal(parseFeedMessage('{"type":"delta","v":1,"seq":1,"at":"2026-01-01T00:00:00.000Z","changes":[{"kind":"host","id":"x"}]}').ok, false);
  assert.equal(parseFeedMessage('{"type":"snapshot","v":2,"seq":0}').ok, false, 'another version');
  assert.equal(parseFeedMessage('{"type":"heartbeat","v":1,"seq":3,"at":"2026-01-01T00:00:00.000Z"}').ok, true);
});
