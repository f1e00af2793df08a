import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { AGENT_WS_PATH } from '../../shared/protocol/constants.js';
import { HttpError, sendError } from './respond.js';
import type { Router } from './router.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpServerOptions {
  /** serve https:// and wss:// with these node:https options */
  tls?: ServerOptions;
  /** open mode's DNS-rebinding guard (host-check.ts); undefined: every Host is served */
  hostAllowed?: (host: string | undefined) => boolean;
}

/**
 * The single node:http (or node:https) server: requests go to the router, WebSocket upgrades
 * to the handler registered for their path (`/agent` now, `/api/v1/feed` later); any other
 * upgrade is answered 404 and the socket closed.
 */
export function createHttpServer(router: Router, upgrades: ReadonlyMap<string, UpgradeHandler>, options?: HttpServerOptions & { tls?: undefined }): Server;
export function createHttpServer(router: Router, upgrades: ReadonlyMap<string, UpgradeHandler>, options: HttpServerOptions): Server | HttpsServer;
export function createHttpServer(router: Router, upgrades: ReadonlyMap<string, UpgradeHandler>, options: HttpServerOptions = {}): Server | HttpsServer {
  const { hostAllowed } = options;
  const handle: RequestListener = hostAllowed
    ? (req, res) => {
        if (hostAllowed(req.headers.host)) return router.handle(req, res);
        sendError(res, hostRefused(req.headers.host));
      }
    : router.handle;
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A socket error before the handler attaches its own would otherwise be unhandled.
    socket.on('error', () => socket.destroy());
    let path = '';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = '';
    }
    // Agents prove themselves with a bearer token a browser cannot add to a WebSocket, and may
    // know the coordinator by any DNS name: the Host guard is for what browsers can reach.
    if (hostAllowed && path !== AGENT_WS_PATH && !hostAllowed(req.headers.host)) return refuseUpgrade(socket, hostRefused(req.headers.host));
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

function hostRefused(host: string | undefined): HttpError {
  return new HttpError(403, 'host_not_allowed', `Host ${JSON.stringify(host ?? '')} is not served without viewer tokens; add its name to http.allowedHosts or set auth.viewerTokens`);
}

function refuseUpgrade(socket: Duplex, err: HttpError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  socket.end(`HTTP/1.1 ${err.status} Forbidden\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
}
