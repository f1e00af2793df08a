import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditRecord, AuditStore } from '../../../../coordinator/store/audit-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';

export function auditRecord(action: string, at = T0, extra: Partial<AuditRecord> = {}): AuditRecord {
  return { at, actor: 'ops', remote: '127.0.0.1', action, target: 'gpu-a', detail: { reason: 'new weights', n: 2 }, outcome: 'ok', status: null, ...extra };
}

/** What every AuditStore does (coordinator/store/audit-store.ts). */
export function describeAuditStoreConformance(name: string, open: OpenStore<AuditStore>): void {
  describe(`AuditStore conformance: ${name}`, () => {
    test('append returns increasing ids; list is newest first, whole rows, bounded by limit', () =>
      withStore(open, async (store) => {
        const a = await store.appendAudit(auditRecord('restart.create', T0));
        const b = await store.appendAudit(auditRecord('host.forget', T0, { actor: 'anonymous', remote: null, target: null, outcome: 'refused', status: 401, detail: {} }));
        const c = await store.appendAudit(auditRecord('restart.abort', T0 + 5));
        assert.ok(a < b && b < c);
        const all = await store.listAudit({ limit: 10 });
        assert.deepEqual(all.map((e) => e.id), [c, b, a]);
        assert.deepEqual(all[2], { id: a, ...auditRecord('restart.create', T0) });
        assert.deepEqual(all[1], { id: b, ...auditRecord('host.forget', T0, { actor: 'anonymous', remote: null, target: null, outcome: 'refused', status: 401, detail: {} }) });
        assert.deepEqual((await store.listAudit({ limit: 2 })).map((e) => e.id), [c, b]);
      }));

    test('since keeps rows at or after it; action is exact, or a prefix ending in *', () =>
      withStore(open, async (store) => {
        await store.appendAudit(auditRecord('restart.create', T0));
        await store.appendAudit(auditRecord('restart.target.sent', T0 + 10));
        await store.appendAudit(auditRecord('restart_x', T0 + 20));
        await store.appendAudit(auditRecord('silence.create', T0 + 30));
        const actions = async (q: Parameters<AuditStore['listAudit']>[0]) => (await store.listAudit(q)).map((e) => e.action);
        assert.deepEqual(await actions({ limit: 10, since: T0 + 10 }), ['silence.create', 'restart_x', 'restart.target.sent']);
        assert.deepEqual(await actions({ limit: 10, action: 'restart.create' }), ['restart.create']);
        assert.deepEqual(await actions({ limit: 10, action: 'restart.*' }), ['restart.target.sent', 'restart.create'], '_ is not a wildcard');
        assert.deepEqual(await actions({ limit: 10, action: 'restart.*', since: T0 + 5 }), ['restart.target.sent']);
        assert.deepEqual(await actions({ limit: 10, action: 'nope' }), []);
      }));

    test('prune deletes rows written before the cutoff and says how many', () =>
      withStore(open, async (store) => {
        await store.appendAudit(auditRecord('a', T0));
        await store.appendAudit(auditRecord('b', T0 + 1));
        await store.appendAudit(auditRecord('c', T0 + 2));
        assert.equal(await store.prune(T0 + 2), 2);
        assert.deepEqual((await store.listAudit({ limit: 10 })).map((e) => e.action), ['c']);
      }));

    test('rows survive a restart, and ids keep increasing after it', (t) =>
      withRestart(t, open, async (store, restart) => {
        const a = await store.appendAudit(auditRecord('restart.create'));
        await store.prune(T0 + 1);
        const again = await restart();
        const b = await again.appendAudit(auditRecord('host.forget', T0 + 2));
        assert.ok(b > a, 'an id is never reused, even after its row was pruned');
        assert.deepEqual((await again.listAudit({ limit: 10 })).map((e) => e.action), ['host.forget']);
      }));
  });
}
