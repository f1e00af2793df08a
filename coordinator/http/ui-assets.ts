import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './respond.js';
import type { Router } from './router.js';

/**
 * `GET /ui/:file`: the dashboard's browser modules and stylesheet, as `npm run build` left
 * them in dist/coordinator/web/ (tsc for coordinator/web/*.ts, a copy for the CSS). Read once
 * at startup and kept in memory: a few tens of KiB, and no path from the request ever
 * reaches the file system.
 */
export interface UiAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** dist/coordinator/web, next to this module's own compiled directory */
export const UI_DIR = fileURLToPath(new URL('../web/', import.meta.url));

export function loadUiAssets(dir = UI_DIR): Map<string, UiAsset> {
  const assets = new Map<string, UiAsset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/**
 * Public: the files hold only the page's code, the same for everyone, and the login page may
 * use them. `no-cache` with an ETag: a browser revalidates, so an upgraded coordinator never
 * runs with yesterday's modules.
 */
export function registerUiAssets(router: Router, assets: ReadonlyMap<string, UiAsset>): void {
  router.add('GET', '/ui/:file', 'public', ({ req, res, params }) => {
    const asset = assets.get(params.file!);
    if (!asset) throw new HttpError(404, 'not_found', 'no such file');
    const headers = {
      'Content-Type': asset.type,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      ETag: asset.etag,
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': asset.body.length });
    res.end(asset.body);
  });
}
