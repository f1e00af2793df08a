import type Database from 'better-sqlite3';

/** Deleting in chunks keeps each write transaction short, so agents' batches are not held up. */
export const PRUNE_CHUNK = 5000;
/** Bound on one prune; whatever is left goes at the next one. */
const PRUNE_MAX_CHUNKS = 10_000;

/**
 * Runs `stmt` (a DELETE taking the cutoff and a row limit) until a chunk comes back short;
 * returns how many rows went.
 */
export function deleteInChunks(stmt: Database.Statement, before: number): number {
  let total = 0;
  for (let i = 0; i < PRUNE_MAX_CHUNKS; i++) {
    const n = stmt.run(before, PRUNE_CHUNK).changes;
    total += n;
    if (n < PRUNE_CHUNK) break;
  }
  return total;
}
