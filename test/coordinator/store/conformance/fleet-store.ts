import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetStore } from '../../../../coordinator/store/fleet-store.js';
import { T0 } from '../../protocol-samples.js';
import { withRestart, withStore, type OpenStore } from './harness.js';

/** What every FleetStore does (coordinator/store/fleet-store.ts). */
export function describeFleetStoreConformance(name: string, open: OpenStore<FleetStore>): void {
  describe(`FleetStore conformance: ${name}`, () => {
    test('agents: hello, connection flags, listing', () =>
      withStore(open, async (store) => {
        await store.recordHello({ id: 'gpu-b', bootId: 'b1', labels: { rack: 'r2' }, agentVersion: '1.0' }, T0);
        await store.recordHello({ id: 'gpu-a', bootId: 'a1', labels: {}, agentVersion: '1.0' }, T0);
        await store.recordHello({ id: 'gpu-b', bootId: 'b2', labels: { rack: 'r3' }, agentVersion: '1.1' }, T0 + 5);
        await store.setConnected('gpu-a', false, T0 + 7);
        let agents = await store.listAgents();
        assert.deepEqual(
          agents.map((a) => [a.id, a.bootId, a.labels, a.agentVersion, a.connected, a.firstSeen, a.lastSeen]),
          [
            ['gpu-a', 'a1', {}, '1.0', false, T0, T0 + 7],
            ['gpu-b', 'b2', { rack: 'r3' }, '1.1', true, T0, T0 + 5],
          ],
        );
        await store.markAllDisconnected();
        agents = await store.listAgents();
        assert.deepEqual(
          agents.map((a) => [a.id, a.connected, a.lastSeen]),
          [
            ['gpu-a', false, T0 + 7],
            ['gpu-b', false, T0 + 5],
          ],
        );
      }));

    test('forgetAgent removes one agent, once; a later hello records it afresh', () =>
      withStore(open, async (store) => {
        await store.recordHello({ id: 'gpu-a', bootId: 'a1', labels: {}, agentVersion: '1.0' }, T0);
        await store.recordHello({ id: 'gpu-b', bootId: 'b1', labels: {}, agentVersion: '1.0' }, T0);
        assert.equal(await store.forgetAgent('gpu-a'), true);
        assert.equal(await store.forgetAgent('gpu-a'), false);
        assert.equal(await store.forgetAgent('nobody'), false);
        assert.deepEqual((await store.listAgents()).map((a) => a.id), ['gpu-b']);
        await store.recordHello({ id: 'gpu-a', bootId: 'a2', labels: {}, agentVersion: '1.1' }, T0 + 9);
        assert.deepEqual((await store.listAgents()).map((a) => [a.id, a.bootId, a.firstSeen]), [['gpu-a', 'a2', T0 + 9], ['gpu-b', 'b1', T0]]);
      }));

    test('setConnected never moves lastSeen backwards; an unknown agent is ignored', () =>
      withStore(open, async (store) => {
        await store.recordHello({ id: 'gpu-a', bootId: 'a1', labels: {}, agentVersion: '1.0' }, T0 + 10);
        await store.setConnected('gpu-a', false, T0 + 5);
        await store.setConnected('nobody', true, T0);
        assert.deepEqual(
          (await store.listAgents()).map((a) => [a.id, a.connected, a.lastSeen]),
          [['gpu-a', false, T0 + 10]],
        );
      }));

    test('agents survive a restart of the store', (t) =>
      withRestart(t, open, async (store, restart) => {
        await store.recordHello({ id: 'gpu-a', bootId: 'a1', labels: { rack: 'r1' }, agentVersion: '1.0' }, T0);
        store = await restart();
        assert.deepEqual(await store.listAgents(), [{ id: 'gpu-a', bootId: 'a1', labels: { rack: 'r1' }, agentVersion: '1.0', firstSeen: T0, lastSeen: T0, connected: true }]);
      }));
  });
}
