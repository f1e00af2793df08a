import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createHttpClient, createProbeDispatcher, classifyError, DEFAULT_MAX_BODY_BYTES } from '../../../agent/probes/http-client.js';
import { createLlamacppProbe } from '../../../agent/probes/llamacpp.js';
import { FakeClock } from '../../../shared/clock.js';
import type { ServiceConfig } from '../../../shared/config/agent-config.js';

const dispatcher = createProbeDispatcher();
const http = createHttpClient({ dispatcher });
after(() => dispatcher.destroy());

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function serveHttp(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(handler);
  const url = await listen(server);
  return {
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serveRaw(onSocket: (socket: Socket) => void) {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  const url = await listen(server);
  return {
    url,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function service(url: string): ServiceConfig {
  return {
    name: 't', kind: 'llamacpp', url, fallbackUrls: [], labels: {}, metrics: 'auto', metricsPath: '/metrics',
    interval: 10_000, timeout: 2_000, retries: 3, retryDelay: 2_000, startupGrace: 600_000, recoverAfter: 2, stallAfter: 60_000,
  };
}

test('a closed port is refused', async () => {
  const server = await serveRaw(() => {});
  const url = server.url;
  await server.close();
  const reply = await http.request({ url: `${url}/health`, timeoutMs: 1_000 });
  assert.equal(reply.ok, false);
  assert.equal(!reply.ok && reply.outcome, 'refused');
});

test('a server that accepts and never answers is a timeout, within the deadline', async () => {
  const server = await serveRaw(() => {});
  try {
    const started = Date.now();
    const reply = await http.request({ url: `${server.url}/health`, timeoutMs: 200 });
    assert.equal(!reply.ok && reply.outcome, 'timeout');
    assert.match(!reply.ok ? reply.detail : '', /200ms/);
    assert.ok(Date.now() - started < 2_000, 'gave up near its deadline');
  } finally {
    await server.close();
  }
});

test('headers then a body that stalls is a timeout', async () => {
  const server = await serveHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"status":');
  });
  try {
    const reply = await http.request({ url: `${server.url}/health`, timeoutMs: 200 });
    assert.equal(!reply.ok && reply.outcome, 'timeout');
    assert.equal(!reply.ok && reply.status, 200);
  } finally {
    await server.close();
  }
});

test('a connection reset is an error, not a throw', async () => {
  const server = await serveRaw((socket) => socket.once('data', () => socket.resetAndDestroy()));
  try {
    const reply = await http.request({ url: `${server.url}/health`, timeoutMs: 1_000 });
    assert.equal(!reply.ok && reply.outcome, 'error');
    assert.ok(!reply.ok && reply.code, 'carries the error code');
  } finally {
    await server.close();
  }
});

test('a GET whose connection dies before any answer gets one fresh try; a POST does not', async () => {
  let connections = 0;
  const server = await serveRaw((socket) => {
    const n = ++connections;
    socket.once('data', () => {
      if (n % 2 === 1) return void socket.destroy(); // like a pooled socket the server just closed
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{"status":"ok"}');
    });
  });
  try {
    const get = await http.request({ url: `${server.url}/health`, timeoutMs: 2_000 });
    assert.equal(get.ok && get.body, '{"status":"ok"}');
    assert.equal(connections, 2);
    const post = await http.request({ url: `${server.url}/v1/chat/completions`, json: { max_tokens: 1 }, timeoutMs: 2_000 });
    assert.equal(!post.ok && post.outcome, 'error', 'a generation is never sent twice');
    assert.equal(connections, 3);
  } finally {
    await server.close();
  }
});

test('a 50 MB streamed body is cut at the cap: bad_response, bounded bytes, transfer stopped', async () => {
  const total = 50 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  const server = await serveHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => {
      while (written < total && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => void 0);
    pump();
  });
  try {
    const before = process.memoryUsage().arrayBuffers;
    const reply = await http.request({ url: `${server.url}/health`, timeoutMs: 10_000 });
    assert.equal(reply.ok, false);
    assert.ok(!reply.ok);
    assert.equal(reply.outcome, 'bad_response');
    assert.equal(reply.detail, `body over ${DEFAULT_MAX_BODY_BYTES} bytes`);
    assert.ok((reply.bytes ?? 0) <= DEFAULT_MAX_BODY_BYTES + 64 * 1024, `read ${reply.bytes} bytes`);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(written < total / 2, `server managed to write only ${written} of ${total} bytes`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'no large buffers held');
  } finally {
    await server.close();
  }
});

test('a declared oversized content-length is refused before reading', async () => {
  const server = await serveHttp((_req, res) => {
    res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
    res.write(Buffer.alloc(1024));
  });
  try {
    const reply = await http.request({ url: `${server.url}/x`, timeoutMs: 2_000, maxBodyBytes: 4096 });
    assert.equal(!reply.ok && reply.outcome, 'bad_response');
    assert.equal(!reply.ok && reply.detail, 'body over 4096 bytes');
    assert.equal(!reply.ok && reply.bytes, 0);
  } finally {
    await server.close();
  }
});

test('random binary bytes as a 200 body make a JSON probe bad_response', async () => {
  const server = await serveHttp((_req, res) => res.end(randomBytes(100_000)));
  try {
    const probe = createLlamacppProbe(service(server.url), { clock: new FakeClock(), dispatcher });
    const attempt = await probe.alive(server.url, { timeoutMs: 2_000 });
    assert.equal(attempt.outcome, 'bad_response');
    assert.equal(attempt.status, 200);
    assert.ok(attempt.detail.length < 200, 'detail stays short');
    assert.doesNotMatch(attempt.detail, /[^\x20-\x7e…]/, 'detail is printable');
  } finally {
    await server.close();
  }
});

test('random bytes instead of HTTP are bad_response', async () => {
  const server = await serveRaw((socket) => socket.once('data', () => socket.end(randomBytes(4096))));
  try {
    const reply = await http.request({ url: `${server.url}/health`, timeoutMs: 1_000 });
    assert.equal(!reply.ok && reply.outcome, 'bad_response');
  } finally {
    await server.close();
  }
});

test('a caller abort is a timeout, and keep-alive reuse still works afterwards', async () => {
  const server = await serveHttp((req, res) => {
    if (req.url === '/slow') return; // never answers
    res.end('{"status":"ok"}');
  });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const reply = await http.request({ url: `${server.url}/slow`, timeoutMs: 5_000, signal: ac.signal });
    assert.equal(!reply.ok && reply.outcome, 'timeout');
    for (let i = 0; i < 3; i++) {
      const ok = await http.request({ url: `${server.url}/health`, timeoutMs: 1_000 });
      assert.equal(ok.ok && ok.body, '{"status":"ok"}');
    }
  } finally {
    await server.close();
  }
});

test('classification branches on codes only', () => {
  const coded = (code: string) => Object.assign(new Error('whatever text'), { code });
  assert.equal(classifyError(coded('ECONNREFUSED'), false).outcome, 'refused');
  assert.equal(classifyError(coded('UND_ERR_HEADERS_TIMEOUT'), false).outcome, 'timeout');
  assert.equal(classifyError(coded('UND_ERR_BODY_TIMEOUT'), false).outcome, 'timeout');
  assert.equal(classifyError(coded('UND_ERR_CONNECT_TIMEOUT'), false).outcome, 'timeout');
  assert.equal(classifyError(coded('ECONNRESET'), false).outcome, 'error');
  assert.equal(classifyError(coded('UND_ERR_SOCKET'), false).outcome, 'error');
  assert.equal(classifyError(coded('HPE_INVALID_CONSTANT'), false).outcome, 'bad_response');
  assert.equal(classifyError(new Error('ECONNREFUSED in the message only'), false).outcome, 'error');
  assert.equal(classifyError(new Error('no code'), true).outcome, 'timeout');
  const aggregate = Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), {});
  assert.equal(classifyError(aggregate, false).outcome, 'refused');
});
