import { readFileSync } from 'node:fs';

/** package.json version, read relative to the compiled file (dist/cli -> package root). */
export const version: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
