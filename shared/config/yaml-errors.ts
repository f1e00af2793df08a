/**
 * YAML syntax errors worded for the person editing the file: the line where the mistake is
 * (for an unclosed `[`, `{` or quote that is where it was opened, not where the parser gave
 * up), that line with a caret under the spot, and a hint for the usual slips.
 */
import type { YAMLError } from 'yaml';
import type { ConfigIssue } from '../errors.js';

const CLOSERS: Record<string, string> = { '[': ']', '{': '}', '"': '"', "'": "'" };
const WHAT: Record<string, string> = { '[': 'flow list', '{': 'flow mapping', '"': 'double-quoted string', "'": 'single-quoted string' };

/**
 * Offset of the last `[`, `{` or opening quote before `upto` that is still open there,
 * skipping comments and the inside of strings. A quote opens a string only where a scalar
 * starts (so the apostrophe in `don't` is text).
 */
export function unclosedOpener(text: string, upto: number): number | undefined {
  const open: number[] = [];
  let quote: number | undefined;
  for (let i = 0; i < upto && i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      const q = text[quote]!;
      if (c === '\\' && q === '"') i++;
      else if (c === q && q === "'" && text[i + 1] === "'") i++;
      else if (c === q) quote = undefined;
      continue;
    }
    const prev = i === 0 ? '\n' : text[i - 1]!;
    if (c === '#' && /\s/.test(prev)) {
      while (i < upto && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && /[\s[{,:-]/.test(prev)) {
      quote = i;
    } else if (c === '[' || c === '{') {
      open.push(i);
    } else if ((c === ']' || c === '}') && open.length) {
      open.pop();
    }
  }
  return quote ?? open.at(-1);
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function excerpt(text: string, line: number, col: number): string {
  const source = (text.split('\n')[line - 1] ?? '').replace(/\r$/, '');
  const gutter = String(line);
  return `\n  ${gutter} | ${source}\n  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, col - 1))}^`;
}

const HINTS: [RegExp, string][] = [
  [/Implicit keys need to be on a single line|Implicit map keys need to be followed by map values/, 'a key without ":" after it?'],
  [/must start at the same column|Sequence item without - indicator|bad indentation|should be indented/i, 'this line is indented differently from the ones above it'],
  [/Nested mappings are not allowed in compact mappings|A block sequence may not be used as an implicit map key/, 'a value needs its own line, or a space after ":"'],
];

/** One issue per YAML error, at `line N`. */
export function yamlSyntaxIssues(text: string, errors: readonly YAMLError[]): ConfigIssue[] {
  return errors.map((e) => {
    const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    let at = e.linePos?.[0] ?? lineAndColumn(text, e.pos[0]);
    let message = first;
    if (/end with a [\]}]|Missing closing .?quote/i.test(first)) {
      const opener = unclosedOpener(text, e.pos[0]);
      if (opener !== undefined) {
        const c = text[opener]!;
        at = lineAndColumn(text, opener);
        message = `this ${WHAT[c]} is never closed: add the missing ${CLOSERS[c]} (${first})`;
      }
    } else {
      const hint = HINTS.find(([re]) => re.test(first))?.[1];
      if (hint) message = `${first} (${hint})`;
    }
    return { path: `line ${at.line}`, message: `YAML syntax: ${message}${excerpt(text, at.line, at.col)}` };
  });
}
