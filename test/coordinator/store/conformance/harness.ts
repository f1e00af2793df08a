import type { TestContext } from 'node:test';

/**
 * How a conformance suite gets a store: a fresh, empty one per test. Every backend runs
 * the same suites (test/coordinator/store/sqlite.test.ts for SQLite); a new backend adds
 * one such file, with an `open` per interface.
 */
export interface OpenedStore<S> {
  store: S;
  /** Closes the store and throws its data away. */
  close(): Promise<void>;
  /**
   * Closes the store and opens the same data again, as a restarted coordinator would.
   * Without it the tests of durability across a restart are skipped.
   */
  reopen?(): Promise<OpenedStore<S>>;
}

export type OpenStore<S> = () => Promise<OpenedStore<S>>;

/** Runs `fn` on a fresh store and closes it afterwards, also when `fn` throws. */
export async function withStore<S>(open: OpenStore<S>, fn: (store: S) => Promise<void>): Promise<void> {
  const opened = await open();
  try {
    await fn(opened.store);
  } finally {
    await opened.close();
  }
}

/** Like withStore, with `restart()` to close the store and get the same data back. */
export async function withRestart<S>(t: TestContext, open: OpenStore<S>, fn: (store: S, restart: () => Promise<S>) => Promise<void>): Promise<void> {
  let opened = await open();
  try {
    if (!opened.reopen) {
      t.skip('this backend keeps nothing across a restart');
      return;
    }
    await fn(opened.store, async () => {
      opened = await opened.reopen!();
      return opened.store;
    });
  } finally {
    await opened.close();
  }
}
