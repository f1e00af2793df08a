import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../coordinator/store/sqlite-store.js';
import { describeAuditStoreConformance } from './conformance/audit-store.js';
import { describeEventStoreConformance } from './conformance/event-store.js';
import { describeFleetStoreConformance } from './conformance/fleet-store.js';
import { describeJobStoreConformance } from './conformance/job-store.js';
import { describeHistoryStoreConformance } from './conformance/history-store.js';
import type { OpenStore, OpenedStore } from './conformance/harness.js';
import { describeMaintenanceStoreConformance } from './conformance/maintenance-store.js';
import { describeOutboxStoreConformance } from './conformance/outbox-store.js';
import { describeSilenceStoreConformance } from './conformance/silence-store.js';
import { describeStoreConformance } from './conformance/store.js';

// Every store conformance suite against SQLite: a database file of its own per test.

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sqlite<S>(part: (store: SqliteStore) => S): OpenStore<S> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmh-store-'));
    dirs.push(dir);
    return opened(join(dir, 'llm-health.db'), part);
  };
}

function opened<S>(file: string, part: (store: SqliteStore) => S): OpenedStore<S> {
  const store = SqliteStore.open(file);
  return {
    store: part(store),
    close: () => store.close(),
    reopen: async () => {
      await store.close();
      return opened(file, part);
    },
  };
}

describeFleetStoreConformance('SQLite', sqlite((s) => s.fleet));
describeEventStoreConformance('SQLite', sqlite((s) => s.events));
describeOutboxStoreConformance('SQLite', sqlite((s) => s.outbox));
describeSilenceStoreConformance('SQLite', sqlite((s) => s.silences));
describeJobStoreConformance('SQLite', sqlite((s) => s.jobs));
describeHistoryStoreConformance('SQLite', sqlite((s) => s.history));
describeAuditStoreConformance('SQLite', sqlite((s) => s.audit));
describeMaintenanceStoreConformance('SQLite', sqlite((s) => s.maintenance));
describeStoreConformance('SQLite', sqlite((s) => s));
