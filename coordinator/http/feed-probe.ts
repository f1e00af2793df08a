import { FEED_SUBPROTOCOL, FEED_WS_PATH } from '../../shared/feed/messages.js';
import { sendJson } from './respond.js';
import type { Router } from './router.js';

/**
 * `GET /api/v1/feed` without an upgrade: `426`. A browser never sees the HTTP status of a
 * refused WebSocket, so the dashboard asks here after a failed connection: `426` says the
 * feed exists (the failure was the network: reconnect), `404` an older coordinator without
 * it (poll the REST API instead), `401` a lapsed login. Viewer access, as the feed itself.
 */
export function registerFeedProbe(router: Router): void {
  router.add('GET', FEED_WS_PATH, 'viewer', ({ res }) =>
    sendJson(res, 426, { error: { code: 'upgrade_required', message: `open a WebSocket with the subprotocol ${FEED_SUBPROTOCOL}` }, subprotocols: [FEED_SUBPROTOCOL] }, { Upgrade: 'websocket' }),
  );
}
