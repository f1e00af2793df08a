/** agent/check.ts: the `llm-health check` table keeps one row per service. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCheckReport, oneLine, type CheckedService } from '../../agent/check.js';

const service = (over: Partial<CheckedService>): CheckedService => ({
  name: 'llama-vision',
  kind: 'llamacpp',
  state: 'down',
  reason: 'crashed',
  url: 'http://127.0.0.1:8001',
  servedBy: null,
  latencyMs: null,
  restarted: true,
  restartOutcome: 'failed',
  ...over,
});

test("systemctl's multi-line error collapses into the reason column: one row per service", () => {
  const reason = "crashed: /health: connect ECONNREFUSED; restart failed: Failed to restart llama-vision-server.service: Access denied\nSee system logs and 'systemctl status llama-vision-server.service' for details.\n";
  const table = formatCheckReport({ ok: false, services: [service({ reason }), service({ name: 'qwen-vl', state: 'healthy', reason: 'ready', restarted: false, restartOutcome: null, latencyMs: 3 })] });
  const lines = table.split('\n');
  assert.equal(lines.length, 4, table);
  assert.match(lines[1]!, /^llama-vision .*Access denied \/ See system logs and 'systemctl status llama-vision-server\.service' for details\.$/);
  assert.match(lines[2]!, /^qwen-vl /);
  assert.equal(lines[3], 'FAIL: some services are not healthy');
});

test('oneLine: line breaks, tabs and other control characters never reach the table', () => {
  assert.equal(oneLine('a\r\n  b\n\nc'), 'a / b / c');
  assert.equal(oneLine('a\tb\u001b[31mc'), 'a b [31mc');
  assert.equal(oneLine('  plain  '), 'plain');
});
