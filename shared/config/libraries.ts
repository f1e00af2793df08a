import { createRequire } from 'node:module';
import type { Ajv } from 'ajv';
import type { parseDocument } from 'yaml';

/**
 * The two libraries a config load needs, ajv (schema validation) and yaml (parsing), loaded
 * for the load and unloaded after it.
 *
 * A daemon reads its config once and then never needs them again, but as ES imports they
 * would stay for the life of the process (the ESM loader never unloads a module): about
 * 1 MB of library code resident in every agent (bench/footprint). Both are CommonJS
 * packages, so they are loaded through `require` instead, and unloadConfigLibraries() evicts
 * from the require cache exactly the modules this loading added, together with the require
 * function whose module object lists them as children, so the garbage collector can take
 * them. Modules already cached (another part of the process imported ajv itself, e.g. the
 * wire protocol) are left alone, and a later load simply loads again.
 *
 * The one-file agent bundles both packages: scripts/bundle-agent.mjs swaps this module for
 * libraries.bundle.ts, which imports them statically (a bundle cannot unload a part of itself).
 */
export interface ConfigLibraries {
  Ajv: typeof Ajv;
  parseDocument: typeof parseDocument;
}

let loaded: { libraries: ConfigLibraries; added: string[]; cache: NodeJS.Require['cache'] } | undefined;

export function configLibraries(): ConfigLibraries {
  if (loaded) return loaded.libraries;
  const requireCjs = createRequire(import.meta.url);
  const before = new Set(Object.keys(requireCjs.cache));
  const libraries: ConfigLibraries = {
    Ajv: (requireCjs('ajv') as typeof import('ajv')).Ajv,
    parseDocument: (requireCjs('yaml') as typeof import('yaml')).parseDocument,
  };
  const added = Object.keys(requireCjs.cache).filter((key) => !before.has(key));
  loaded = { libraries, added, cache: requireCjs.cache };
  return libraries;
}

/** Forgets the libraries; the caller must also drop everything it made with them. */
export function unloadConfigLibraries(): void {
  if (!loaded) return;
  for (const key of loaded.added) delete loaded.cache[key];
  loaded = undefined;
}

/** The require-cache entries the current load added (tests). */
export function configLibraryModules(): readonly string[] {
  return loaded?.added ?? [];
}
