/** shared/log-pretty.ts and the logger's choice of format (shared/logger.ts). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { prettyLine } from '../../shared/log-pretty.js';
import { createLogger } from '../../shared/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'llmh-log-pretty-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a JSON record becomes time, level, name, message and the other fields', () => {
  const line = prettyLine(JSON.stringify({ level: 40, time: '2026-01-02T12:04:05.123Z', pid: 7, name: 'llm-health-agent', msg: 'restarting x.service', unit: 'x.service', stderr: 'Access denied\nSee logs', n: 3 }));
  assert.equal(line, '12:04:05.123 WARN  llm-health-agent: restarting x.service unit=x.service stderr="Access denied\\nSee logs" n=3\n');
});

test('events are told by their message; long values are cut; colour only when asked', () => {
  const line = prettyLine(JSON.stringify({ level: 30, time: '2026-01-02T12:04:05.123Z', name: 'a', msg: 'qwen: healthy -> down: crashed', event: { seq: 1 }, evidence: { journal: 'x'.repeat(500) } }), true);
  assert.ok(!line.includes('seq'), line);
  assert.ok(line.includes('\u001b[32mINFO \u001b[0m'), line);
  assert.ok(line.length < 260 && line.includes('…'), line);
  assert.equal(prettyLine('not json'), 'not json\n');
  assert.match(prettyLine(JSON.stringify({ level: 50, msg: 'two\nlines' })), /^ERROR two \/ lines\n$/);
});

function capture(isTTY: boolean) {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, lines };
}

test('the logger writes pretty lines to a terminal, JSON elsewhere or when told, and JSON to log.file always', () => {
  const tty = capture(true);
  const file = join(dir, 'a.log');
  createLogger({ name: 't', level: 'info', destination: tty.stream, file }).info({ k: 'v' }, 'hello');
  assert.match(tty.lines.join(''), /^\d\d:\d\d:\d\d\.\d{3} .*INFO .* t: hello k=v\n$/);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).msg, 'hello');

  const pipe = capture(false);
  createLogger({ name: 't', level: 'info', destination: pipe.stream }).info('hello');
  assert.equal(JSON.parse(pipe.lines.join('')).msg, 'hello');

  const forcedJson = capture(true);
  createLogger({ name: 't', level: 'info', destination: forcedJson.stream, format: 'json' }).info('hello');
  assert.equal(JSON.parse(forcedJson.lines.join('')).msg, 'hello');

  const forcedPretty = capture(false);
  createLogger({ name: 't', level: 'info', destination: forcedPretty.stream, format: 'pretty' }).info('hello');
  assert.match(forcedPretty.lines.join(''), /INFO  t: hello\n$/);
  assert.ok(!forcedPretty.lines.join('').includes('\u001b['), 'no colour where it is not a terminal');
});
