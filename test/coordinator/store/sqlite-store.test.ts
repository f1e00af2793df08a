import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { T0, event } from '../protocol-samples.js';
import { silence } from './conformance/samples.js';
import { unwritableDb } from './unwritable-db.js';
import { modeOf, withUmask } from '../../helpers/umask.js';

// What only the SQLite backend does: files, journal mode, schema versions, its errors.
// Its behaviour as a Store is in sqlite.test.ts (the conformance suites).

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-sqlite-'));
  dirs.push(dir);
  return dir;
}

async function withStore(file: string, fn: (store: SqliteStore) => Promise<void>): Promise<void> {
  const store = SqliteStore.open(file);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

test('open creates the directory of the file; the database runs in WAL mode', async () => {
  const file = join(tempDir(), 'sub', 'llm-health.db');
  await withStore(file, async (store) => {
    await store.events.appendEvents('gpu-a', [event(1)], T0);
    assert.ok(existsSync(`${file}-wal`), 'WAL mode');
  });
});

test('a duplicate silence id is refused by the primary key', () =>
  withStore(join(tempDir(), 'llm-health.db'), async (store) => {
    await store.silences.createSilence(silence('active', T0, T0 + 3_600_000));
    await assert.rejects(store.silences.createSilence(silence('active', T0, T0 + 1)), /UNIQUE/);
  }));

test('a database written by a newer coordinator is refused, not downgraded', () => {
  const file = join(tempDir(), 'llm-health.db');
  const db = new Database(file);
  db.pragma('user_version = 99');
  db.close();
  const openFiles = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
    } catch {
      return false; // the directory's own fd, gone by now
    }
  }).length;
  assert.throws(() => SqliteStore.open(file), /newer than this coordinator understands/);
  assert.equal(openFiles(), 0, 'the refused database is closed again, not left open');
});

test('checkWritable: the SQLite error of a write probe on an unwritable database; closed after close', async (t) => {
  const db = unwritableDb();
  if (typeof db === 'string') return t.skip(db);
  try {
    // the first check probes; later ones within the probe interval reuse its answer
    const broken = await db.breakIt();
    const health = await broken.checkWritable();
    assert.equal(health.ok, false, db.kind);
    assert.match(health.error!, /SQLITE_(FULL|READONLY)/, db.kind);
    await broken.close();
    assert.deepEqual(await broken.checkWritable(), { ok: false, error: 'store closed' });
  } finally {
    await db.cleanup();
  }
});

test('the database and its -wal and -shm are 0600 whatever the umask, also when left with another mode', () =>
  withUmask(0o000, async () => {
    const file = join(tempDir(), 'llm-health.db');
    await withStore(file, async (store) => {
      await store.events.appendEvents('gpu-a', [event(1)], T0);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(f), '0600', f);
    });
    chmodSync(file, 0o666);
    writeFileSync(`${file}-shm`, '', { mode: 0o666 });
    await withStore(file, async () => {
      for (const f of [file, `${file}-shm`]) assert.equal(modeOf(f), '0600', `${f} reopened`);
    });
  }));
