import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withoutEvidence } from '../../../coordinator/http/evidence.js';
import { event, events, snapshot } from '../protocol-samples.js';
import { ADMIN_TOKEN, TestAgent, VIEWER_TOKEN, getJson, startTestCoordinator, wsUrl, type TestCoordinator } from '../helpers.js';

/** What slipped past the agent's redaction (an unusual secret shape): only token holders may see it. */
const JOURNAL = 'llama-server: loaded with custom auth zq-internal-7f3a9c\nMain process exited, code=killed, status=9/KILL';

const restartEvents = [
  event(1, { type: 'restart_started', from: undefined, to: undefined, reason: 'crashed', data: { unit: 'llama.service', attempt: 1, evidence: { unit: 'llama.service', journal: JOURNAL, startLimitHit: false } } }),
  event(2, { type: 'restart_failed', from: undefined, to: undefined, reason: 'systemctl failed', data: { unit: 'llama.service', outcome: 'failed', exitCode: 1, stderr: `Job failed. ${JOURNAL}` } }),
  event(3, { reason: 'still down' }),
];

type EventsBody = { events: { seq: number; data?: Record<string, unknown> }[] };

/** A coordinator for this describe block that stored `restartEvents`; call the result inside a test. */
function coordinatorWithRestarts(extraYaml: string, viewerTokens: string[] = []): () => TestCoordinator {
  let t: TestCoordinator | undefined;
  let agent: TestAgent | undefined;
  before(async () => {
    t = await startTestCoordinator(extraYaml, {}, { viewerTokens });
    ({ agent } = await TestAgent.hello(wsUrl(t.coord), 'gpu-a', 'boot1'));
    agent.send(snapshot({ llama: 'down' }));
    agent.send(events(restartEvents));
    await agent.ackedUpTo(3);
  });
  after(async () => {
    await agent?.closeAndWait();
    await t?.close();
  });
  return () => t!;
}

async function eventsAs(t: TestCoordinator, token?: string): Promise<{ status: number; text: string; body: EventsBody }> {
  const res = await fetch(`${t.coord.url}/api/v1/events`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as EventsBody };
}

describe('restart evidence with viewer tokens set', () => {
  const coordinator = coordinatorWithRestarts('', [VIEWER_TOKEN]);

  test('an unauthenticated reader gets 401 and no evidence, from the API or the page', async () => {
    for (const token of [undefined, 'wrong-token']) {
      const r = await eventsAs(coordinator(), token);
      assert.equal(r.status, 401);
      assert.ok(!r.text.includes('zq-internal'), r.text);
      const page = await fetch(`${coordinator().coord.url}/`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      assert.equal(page.status, 401);
      assert.ok(!(await page.text()).includes('zq-internal'));
    }
  });

  test('a viewer gets the evidence as the agent sent it', async () => {
    const r = await eventsAs(coordinator(), VIEWER_TOKEN);
    assert.equal(r.status, 200);
    assert.equal((r.body.events[0]!.data!.evidence as { journal: string }).journal, JOURNAL);
    assert.equal(r.body.events[1]!.data!.stderr, `Job failed. ${JOURNAL}`);
  });
});

describe('restart evidence on an open read API', () => {
  const coordinator = coordinatorWithRestarts('');

  test('anyone sees the event history, without evidence, marked as omitted', async () => {
    const r = await eventsAs(coordinator());
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes('zq-internal'), r.text);
    assert.deepEqual(r.body.events[0]!.data, { unit: 'llama.service', attempt: 1, evidenceOmitted: true });
    assert.deepEqual(r.body.events[1]!.data, { unit: 'llama.service', outcome: 'failed', exitCode: 1, evidenceOmitted: true });
    assert.equal(r.body.events[2]!.data, undefined);
    const page = await fetch(`${coordinator().coord.url}/`);
    assert.equal(page.status, 200);
    assert.ok(!(await page.text()).includes('zq-internal'), 'the status page shows no evidence');
  });

  test('a valid viewer-or-admin token still gets the evidence; an unknown one does not', async () => {
    const admin = await eventsAs(coordinator(), ADMIN_TOKEN);
    assert.equal((admin.body.events[0]!.data!.evidence as { journal: string }).journal, JOURNAL);
    const unknown = await eventsAs(coordinator(), 'wrong-token');
    assert.equal(unknown.status, 200);
    assert.ok(!unknown.text.includes('zq-internal'));
  });
});

describe('auth.evidenceWithoutToken: true', () => {
  const coordinator = coordinatorWithRestarts('  evidenceWithoutToken: true\n');

  test('an open read API serves the evidence to anyone, as configured', async () => {
    const r = await getJson(`${coordinator().coord.url}/api/v1/events`);
    assert.equal(r.status, 200);
    assert.equal(r.body.events[0].data.evidence.journal, JOURNAL);
  });
});

test('withoutEvidence: a trimmed event loses its summary too; other data is untouched', () => {
  const trimmed = event(4, { type: 'restart_started', data: { trimmed: 'data exceeded protocol limits', summary: `{"evidence":{"journal":"${JOURNAL}"}}` } });
  assert.deepEqual(withoutEvidence(trimmed).data, { trimmed: 'data exceeded protocol limits', evidenceOmitted: true });
  const plain = event(5, { data: { gpu: 0 } });
  assert.equal(withoutEvidence(plain), plain);
  const bare = event(6);
  assert.equal(withoutEvidence(bare), bare);
});
