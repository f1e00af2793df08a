import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeedClient } from '../../../bench/lib/feed-client.js';
import { hello } from '../protocol-samples.js';
import { eventually, getJson, startTestCoordinator } from '../helpers.js';

const MAX_BUFFERED = 65_536;
const MAX_MESSAGE = 8192;

test('feed: a client that stops reading never holds more than feed.maxBufferedBytes; it gets a snapshot when it resumes', async () => {
  const tc = await startTestCoordinator(`feed: { maxBufferedBytes: ${MAX_BUFFERED}, maxMessageBytes: ${MAX_MESSAGE} }`);
  const { coord } = tc;
  const slow = await FeedClient.connect(coord.url, { keep: true });
  const reader = await FeedClient.connect(coord.url);
  try {
    await slow.waitFor(() => slow.snapshots === 1, 5000, 'first snapshot');
    slow.pause();
    const big = 'x'.repeat(200);
    let round = 0;
    // bounded: the kernel's socket buffers fill first, then the coordinator's own
    for (; round < 2000; round++) {
      for (let i = 0; i < 20; i++) {
        const msg = { ...hello(`h-${String(i).padStart(2, '0')}`, 'b1', ['llama']), labels: Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`k${k}`, `${big}-${round}`])) };
        coord.fleet.apply({ type: 'hello', at: Date.now(), msg });
      }
      coord.feed.flush();
      const s = coord.feed.stats().clients.find((c) => c.behind);
      for (const c of coord.feed.stats().clients) assert.ok(c.bufferedBytes <= MAX_BUFFERED, `client holds ${c.bufferedBytes} bytes, over the bound`);
      if (s) break;
      await new Promise((r) => setImmediate(r));
    }
    const behind = () => coord.feed.stats().clients.find((c) => c.behind);
    assert.ok(behind(), `the stalled client was marked behind (after ${round} rounds)`);
    // more changes while it is behind: dropped, not buffered
    const before = behind()!;
    for (let r = 0; r < 50; r++) {
      coord.fleet.apply({ type: 'hello', at: Date.now(), msg: { ...hello('h-00', 'b1', ['llama']), labels: { k: `late-${r}` } } });
      coord.feed.flush();
    }
    const after = behind()!;
    assert.ok(after.dropped >= before.dropped + 50, 'deltas for a client behind are dropped');
    assert.ok(after.bufferedBytes <= before.bufferedBytes, 'and its buffer does not grow');

    slow.resume();
    await eventually(() => {
      coord.feed.tick();
      return slow.snapshots === 2;
    }, 10_000, 'a fresh snapshot once drained');
    const snapshot = slow.messages.filter((m) => m.type === 'snapshot')[1]!;
    assert.equal(snapshot.type === 'snapshot' && snapshot.seq <= coord.feed.stats().seq, true);
    await eventually(async () => JSON.stringify(slow.model.fleet()) === JSON.stringify((await getJson(`${coord.url}/api/v1/fleet`)).body), 5000, 'the slow client converges');
    await eventually(async () => JSON.stringify(reader.model.fleet()) === JSON.stringify((await getJson(`${coord.url}/api/v1/fleet`)).body), 5000, 'the reading client converges');
    assert.equal(slow.gaps, 0, 'never a delta after a dropped one without a snapshot first');
    assert.equal(reader.snapshots, 1, 'a reading client is never resnapshotted');
    assert.deepEqual(slow.invalid, []);
  } finally {
    slow.close();
    reader.close();
    await tc.close();
  }
});
