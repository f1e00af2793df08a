import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadUiAssets, UI_DIR } from '../../../coordinator/http/ui-assets.js';
import { startTestCoordinator, type TestCoordinator } from '../helpers.js';

describe('GET /ui/:file (the dashboard\'s modules and stylesheet)', () => {
  let t: TestCoordinator;
  before(async () => {
    t = await startTestCoordinator();
  });
  after(() => t.close());

  test('npm run build left the page\'s entry module and stylesheet where the coordinator serves them from', () => {
    const names = [...loadUiAssets(UI_DIR).keys()];
    for (const name of ['main.js', 'dashboard.css', 'poll-source.js', 'hosts-view.js']) assert.ok(names.includes(name), `${name} in ${UI_DIR}`);
    assert.ok(!names.some((n) => n.endsWith('.map') || n.endsWith('.ts')), 'only .js and .css are served');
  });

  test('modules and CSS with their content types, nosniff, revalidated by ETag', async () => {
    for (const [file, type] of [['main.js', 'text/javascript; charset=utf-8'], ['dashboard.css', 'text/css; charset=utf-8']] as const) {
      const res = await fetch(`${t.coord.url}/ui/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const etag = res.headers.get('etag')!;
      assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
      assert.ok((await res.text()).length > 0);
      const again = await fetch(`${t.coord.url}/ui/${file}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
    }
  });

  test('every module main.js imports is served: the page needs no build step beyond tsc', async () => {
    const seen = new Set<string>();
    const queue = ['main.js'];
    while (queue.length) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await fetch(`${t.coord.url}/ui/${file}`);
      assert.equal(res.status, 200, `${file} is served`);
      for (const m of (await res.text()).matchAll(/from '\.\/([\w-]+\.js)'/g)) queue.push(m[1]!);
    }
    assert.ok(seen.size >= 8, `main.js and its imports: ${[...seen].join(', ')}`);
  });

  test('nothing else: unknown names, source maps and paths that climb out are 404', async () => {
    for (const path of ['/ui/nope.js', '/ui/main.js.map', '/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e%2Fhttp%2Fpage.js', '/ui/']) {
      const res = await fetch(`${t.coord.url}${path}`);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
  });
});
