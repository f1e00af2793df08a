import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostMaintenance, MaintenanceStore } from '../../../../coordinator/store/maintenance-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';

export function window(host: string, until = T0 + 3_600_000, extra: Partial<HostMaintenance> = {}): HostMaintenance {
  return { host, since: T0, until, comment: 'driver update', by: 'ops', ...extra };
}

/** What every MaintenanceStore does (coordinator/store/maintenance-store.ts). */
export function describeMaintenanceStoreConformance(name: string, open: OpenStore<MaintenanceStore>): void {
  describe(`MaintenanceStore conformance: ${name}`, () => {
    test('put stores one window per host (a second replaces the first); delete says whether there was one', () =>
      withStore(open, async (store) => {
        await store.putMaintenance(window('gpu-b'));
        await store.putMaintenance(window('gpu-a'));
        await store.putMaintenance(window('gpu-a', T0 + 10, { comment: 'longer', by: 'bob', since: T0 + 1 }));
        assert.deepEqual(await store.listMaintenance(), [window('gpu-a', T0 + 10, { comment: 'longer', by: 'bob', since: T0 + 1 }), window('gpu-b')]);
        assert.equal(await store.deleteMaintenance('gpu-a'), true);
        assert.equal(await store.deleteMaintenance('gpu-a'), false);
        assert.deepEqual((await store.listMaintenance()).map((m) => m.host), ['gpu-b']);
      }));

    test('prune deletes windows that ended before the cutoff', () =>
      withStore(open, async (store) => {
        await store.putMaintenance(window('old', T0));
        await store.putMaintenance(window('now', T0 + 5));
        await store.prune(T0 + 5);
        assert.deepEqual((await store.listMaintenance()).map((m) => m.host), ['now']);
      }));

    test('windows survive a restart', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.putMaintenance(window('gpu-a'));
        assert.deepEqual(await (await restart()).listMaintenance(), [window('gpu-a')]);
      }));
  });
}
