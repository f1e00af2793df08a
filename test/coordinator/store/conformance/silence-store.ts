import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SilenceStore } from '../../../../coordinator/store/silence-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';
import { silence } from './samples.js';

/** What every SilenceStore does (coordinator/store/silence-store.ts). */
export function describeSilenceStoreConformance(name: string, open: OpenStore<SilenceStore>): void {
  describe(`SilenceStore conformance: ${name}`, () => {
    test('silences: create, get, list active and pending, expire (idempotent)', () =>
      withStore(open, async (store) => {
        await store.createSilence(silence('active', T0, T0 + 3_600_000));
        await store.createSilence(silence('pending', T0 + 600_000, T0 + 7_200_000));
        await store.createSilence(silence('over', T0 - 7_200_000, T0 - 1));
        // the backend's own error (SQLite's is checked in test/coordinator/store/sqlite-store.test.ts)
        await assert.rejects(store.createSilence(silence('active', T0, T0 + 1)));

        assert.deepEqual(await store.getSilence('active'), silence('active', T0, T0 + 3_600_000));
        assert.equal(await store.getSilence('nope'), undefined);
        assert.deepEqual((await store.listSilences({ now: T0 })).map((s) => s.id), ['active', 'pending']);
        assert.deepEqual((await store.listSilences({ now: T0, includeExpired: true })).map((s) => s.id), ['over', 'active', 'pending']);

        const expired = (await store.expireSilence('active', T0 + 60_000))!;
        assert.equal(expired.endsAt, T0 + 60_000);
        assert.equal(expired.startsAt, T0);
        assert.equal(expired.updatedAt, T0 + 60_000);
        const again = (await store.expireSilence('active', T0 + 120_000))!;
        assert.equal(again.endsAt, T0 + 60_000, 'expiring twice changes nothing');

        const pending = (await store.expireSilence('pending', T0 + 60_000))!;
        assert.equal(pending.startsAt, T0 + 60_000, 'a pending silence that is expired never starts');
        assert.equal(pending.endsAt, T0 + 60_000);
        assert.equal(await store.expireSilence('nope', T0), undefined);
        assert.deepEqual((await store.listSilences({ now: T0 + 60_000 })).map((s) => s.id), []);
      }));

    test('prune removes silences ended before the cutoff', () =>
      withStore(open, async (store) => {
        await store.createSilence(silence('ended', T0 - 10, T0));
        await store.createSilence(silence('running', T0 - 10, T0 + 10_000));
        await store.createSilence(silence('ends-at-cutoff', T0 - 20, T0 + 1));
        await store.prune(T0 + 1);
        assert.deepEqual((await store.listSilences({ now: T0, includeExpired: true })).map((s) => s.id), ['ends-at-cutoff', 'running']);
      }));

    test('silences survive a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.createSilence(silence('active', T0, T0 + 3_600_000));
        store = await restart();
        assert.deepEqual(await store.listSilences({ now: T0 }), [silence('active', T0, T0 + 3_600_000)]);
      }));
  });
}
