import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Keeps the layering (README.md "Layout") true as the code grows. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(ROOT, dir));
  } catch {
    return out;
  }
  for (const name of names) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('only coordinator/store/ touches SQL', () => {
  for (const file of [...sources('coordinator'), ...sources('shared'), ...sources('cli')]) {
    if (relative('coordinator/store', file).startsWith('..') === false) continue;
    assert.ok(!imports(file).includes('better-sqlite3'), `${file} imports better-sqlite3`);
    assert.ok(!/\b(SELECT|INSERT|DELETE FROM|CREATE TABLE)\b/.test(readFileSync(join(ROOT, file), 'utf8')), `${file} contains SQL`);
  }
});

test('the wire protocol depends on nothing but ajv and itself', () => {
  for (const file of sources('shared/protocol')) {
    for (const spec of imports(file)) assert.ok(spec === 'ajv' || spec.startsWith('./'), `${file} imports ${spec}`);
  }
});

test('fleet reducers are pure: no I/O, no store, no clock reads', () => {
  for (const file of ['coordinator/fleet/reduce.ts', 'coordinator/fleet/view.ts']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const spec of imports(file)) assert.ok(!spec.startsWith('node:') && !spec.includes('store'), `${file} imports ${spec}`);
    assert.ok(!/Date\.now\(\)/.test(text), `${file} reads the clock`);
  }
});
