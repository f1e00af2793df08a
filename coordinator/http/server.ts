import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Router } from './router.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The single node:http server: requests go to the router, WebSocket upgrades to the
 * handler registered for their path (`/agent` now, `/api/v1/feed` later); any other
 * upgrade is answered 404 and the socket closed.
 */
export function createHttpServer(router: Router, upgrades: ReadonlyMap<string, UpgradeHandler>): Server {
  const server = createServer(router.handle);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A socket error before the handler attaches its own would otherwise be unhandled.
    socket.on('error', () => socket.destroy());
    let path = '';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = '';
    }
    const handler = upgrades.get(path);
    if (handler) return handler(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  return server;
}
