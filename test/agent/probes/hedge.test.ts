import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { parseAgentConfig } from '../../../shared/config/agent-config.js';
import { SystemClock } from '../../../shared/clock.js';
import { createProbe } from '../../../agent/probes/registry.js';
import { createProbeDispatcher } from '../../../agent/probes/http-client.js';
import { createRoundState, runRound } from '../../../agent/probes/round.js';

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

function service(port: string, extra = '') {
  return parseAgentConfig('t.yaml', `services:\n  - { name: s, kind: vllm, url: 'http://127.0.0.1:${port}', timeout: 600ms, retries: 3, retryDelay: 200ms${extra} }\n`, { env: {} }).services[0]!;
}

test('a hung server is confirmed by overlapping attempts: three requests in flight at once', async () => {
  let open = 0;
  let maxOpen = 0;
  const server = createServer((req) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    req.on('close', () => open--);
    // never answer
  });
  const port = await listen(server);
  const dispatcher = createProbeDispatcher();
  try {
    const svc = service(String(port));
    const clock = new SystemClock();
    const r = await runRound(svc, createProbe(svc, { clock, dispatcher }), { clock, state: createRoundState() });
    assert.equal(r.outcome, 'timeout');
    // three timed out (a fourth went out after the first failed and was cut short by the third failure)
    assert.equal(r.attempts, 3);
    assert.equal(maxOpen, 3, 'the second and third attempts started while the first was still waiting, never more than retries at once');
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    server.close();
  }
});

test('a stall that drops every request for 1.4 s is survived: the attempt sent after it is answered', async () => {
  const started = Date.now();
  const server = createServer((req, res) => {
    if (Date.now() - started < 1_400) return; // dropped, never answered (a hung worker that recovers)
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/v1/models' ? JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }) : '');
  });
  const port = await listen(server);
  const dispatcher = createProbeDispatcher();
  try {
    const svc = parseAgentConfig('t.yaml', `services:\n  - { name: s, kind: vllm, url: 'http://127.0.0.1:${port}', timeout: 1s, retries: 3, retryDelay: 500ms }\n`, { env: {} }).services[0]!;
    const clock = new SystemClock();
    const r = await runRound(svc, createProbe(svc, { clock, dispatcher }), { clock, state: createRoundState() });
    assert.equal(r.outcome, 'ok', JSON.stringify(r.trail.map((a) => [a.outcome, a.latencyMs, a.detail])));
    assert.equal(r.attempts, 4, 'attempts at 0, 0.5 and 1 s were dropped; the one at 1.5 s was answered');
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    server.close();
  }
});

test('a slow answer is hedged on alive only: ready and deep probes are sent once', async () => {
  const counts: Record<string, number> = {};
  const server = createServer((req, res) => {
    counts[req.url!] = (counts[req.url!] ?? 0) + 1;
    const send = (body: string) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (req.url === '/health') setTimeout(() => send(''), 300);
    else if (req.url === '/v1/models') send(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
    else if (req.url === '/v1/chat/completions') {
      req.resume();
      req.on('end', () => send(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'O' }, finish_reason: 'length' }], usage: {} })));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const port = await listen(server);
  const dispatcher = createProbeDispatcher();
  try {
    const svc = service(String(port), ", model: m, deepProbe: { every: 1m, timeout: 2s }, metrics: false");
    const clock = new SystemClock();
    const r = await runRound(svc, createProbe(svc, { clock, dispatcher }), { clock, state: createRoundState() });
    assert.equal(r.outcome, 'ok', JSON.stringify(r.trail.map((a) => [a.outcome, a.latencyMs, a.detail])));
    assert.ok((counts['/health'] ?? 0) >= 2, 'alive was hedged');
    assert.equal(counts['/v1/models'], 1);
    assert.equal(counts['/v1/chat/completions'], 1, 'generation sent exactly once');
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    server.close();
  }
});
