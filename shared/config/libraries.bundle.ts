import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import type { ConfigLibraries } from './libraries.js';

/**
 * libraries.ts for the one-file agent (scripts/bundle-agent.mjs resolves `./libraries.js` to
 * this file): the bundle carries ajv and yaml inside itself, so they are plain imports and
 * unloading only drops the validators the caller made.
 */
export function configLibraries(): ConfigLibraries {
  return { Ajv, parseDocument };
}

export function unloadConfigLibraries(): void {}
