/** shared/config/yaml-errors.ts: a YAML syntax error names the line where the mistake is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentConfig } from '../../../shared/config/agent-config.js';
import { unclosedOpener } from '../../../shared/config/yaml-errors.js';
import { ConfigError, ErrorCode } from '../../../shared/errors.js';

function syntaxIssue(text: string): { path: string; message: string } {
  try {
    parseAgentConfig('agent.yaml', text, { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError && err.code === ErrorCode.ConfigParse, String(err));
    return err.issues[0]!;
  }
  assert.fail('the file was accepted');
}

const cases: { name: string; text: string; line: number; message: RegExp; excerpt: string }[] = [
  { name: 'a missing colon', text: 'services:\n  - name: a\n    kind llamacpp\n    url: http://x\n', line: 3, message: /a key without ":" after it\?/, excerpt: '  3 |     kind llamacpp\n    |     ^' },
  { name: 'a key indented one space too far back', text: 'services:\n  - name: a\n    kind: llamacpp\n   url: http://x\n', line: 4, message: /indented differently/, excerpt: '  4 |    url: http://x' },
  { name: 'mapping keys at different columns', text: 'log:\n  file: /tmp/x\n level: info\nservices: []\n', line: 3, message: /indented differently/, excerpt: '  3 |  level: info' },
  { name: 'an unclosed flow list (the error points where it opened)', text: 'services:\n  - name: a\n    fallbackUrls: [http://a, http://b\n    url: http://x\nlog: {}\n', line: 3, message: /this flow list is never closed: add the missing \]/, excerpt: '  3 |     fallbackUrls: [http://a, http://b\n    |                   ^' },
  { name: 'an unclosed flow mapping', text: 'defaults: { interval: 10s\nservices: []\n', line: 1, message: /this flow mapping is never closed: add the missing \}/, excerpt: '  1 | defaults: { interval: 10s' },
  { name: 'an unclosed quote', text: 'log:\n  file: "/var/log/x\n  level: info\nservices: []\n', line: 2, message: /this double-quoted string is never closed: add the missing "/, excerpt: '  2 |   file: "/var/log/x' },
];

for (const c of cases) {
  test(`YAML syntax: ${c.name} is reported at line ${c.line} with the line itself`, () => {
    const issue = syntaxIssue(c.text);
    assert.equal(issue.path, `line ${c.line}`);
    assert.match(issue.message, /^YAML syntax: /);
    assert.match(issue.message, c.message);
    assert.ok(issue.message.includes(c.excerpt), issue.message);
    assert.doesNotMatch(issue.message, / at line \d+, column \d+/, 'the position is said once');
  });
}

test('unclosedOpener skips closed collections, comments, quoted text and apostrophes in plain text', () => {
  const text = "a: [1, 2] # not [ here\nb: \"[\" \nc: don't [\nd: 'it''s {'\ne: {x: [1, 2]";
  assert.equal(unclosedOpener(text, text.length), text.indexOf('{x'));
  assert.equal(unclosedOpener(text, text.indexOf('d:')), text.indexOf('[\nd'));
  assert.equal(unclosedOpener('a: [1, 2]\n', 10), undefined);
  assert.equal(unclosedOpener('a: "x\\"y\n', 9), 3, 'an escaped quote does not close the string');
});
