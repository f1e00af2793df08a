import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';

/** A database that a test can make unwritable, and how. */
export interface UnwritableDb {
  /** 'full disk' (a 2 MiB tmpfs filled up) or 'read-only file' (chmod, then reopened) */
  kind: string;
  dir: string;
  store: SqliteStore;
  /** Makes the database unwritable; returns the store to use from then on. */
  breakIt(): Promise<SqliteStore>;
  cleanup(): Promise<void>;
}

/** A real full disk where mounting is allowed (root), else a read-only file where chmod binds (not root); a skip reason otherwise. */
export function unwritableDb(): UnwritableDb | string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-unwritable-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return fullDisk(dir);
  } catch {
    if (process.getuid?.() !== 0) return readOnlyFile(dir);
    rmSync(dir, { recursive: true, force: true });
    return 'neither a tmpfs mount nor a read-only file is possible here (root without mount permission)';
  }
}

function fullDisk(dir: string): UnwritableDb {
  const store = SqliteStore.open(join(dir, 'llm-health.db'));
  return {
    kind: 'full disk',
    dir,
    store,
    async breakIt() {
      // big chunks, then page-sized ones, so not even one page is left
      for (const size of [64 * 1024, 4096, 512]) fill(join(dir, 'filler'), size);
      return store;
    },
    async cleanup() {
      await store.close();
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readOnlyFile(dir: string): UnwritableDb {
  const file = join(dir, 'llm-health.db');
  let store = SqliteStore.open(file);
  return {
    kind: 'read-only file',
    dir,
    store,
    async breakIt() {
      await store.close(); // checkpoints and removes the WAL
      chmodSync(file, 0o444);
      store = SqliteStore.open(file);
      return store;
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fill(file: string, chunkSize: number): void {
  const chunk = Buffer.alloc(chunkSize);
  try {
    for (;;) appendFileSync(file, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}
