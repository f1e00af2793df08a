import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FEED_SUBPROTOCOL, FEED_WS_PATH } from '../../../shared/feed/messages.js';
import { eventually, startTestCoordinator } from '../helpers.js';

function connect(base: string, autoPong: boolean): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${FEED_WS_PATH}`, [FEED_SUBPROTOCOL], { autoPong });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
  });
}

test('feed: a client that stops answering pings is cut at the next heartbeat; one that answers stays', async () => {
  const tc = await startTestCoordinator();
  const silent = await connect(tc.coord.url, false);
  const live = await connect(tc.coord.url, true);
  try {
    await eventually(() => tc.coord.feed.stats().clients.length === 2, 5000, 'both clients registered');
    tc.coord.feed.heartbeat(); // pings both
    await new Promise((resolve) => setTimeout(resolve, 200)); // the live one's pong comes back
    tc.coord.feed.heartbeat(); // the silent one never answered: cut
    const code = await Promise.race([silent.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000))]);
    assert.equal(code, 1006, 'terminated, no close handshake');
    await eventually(() => tc.coord.feed.stats().clients.length === 1, 5000, 'the hub forgot the silent client');
    assert.equal(live.ws.readyState, WebSocket.OPEN, 'the answering client is still connected');
  } finally {
    silent.ws.terminate();
    live.ws.terminate();
    await tc.close();
  }
});
