/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a
 * real coordinator and a real agent process watching emulated servers under the service
 * manager stand-in. What it shows: the fleet with GPU figures; a killed server's tile turns
 * to the failure and back to healthy without a reload, each within 2 s of the agent's event,
 * through the live feed (`data-source="feed"`), with no slow model load to help; a restart
 * started from the page (after its dry-run dialog) reaches the jobs API and the audit log and
 * is shown to its end; maintenance set from the page reaches the fleet view and the host, and
 * ends from the page; a coordinator without the feed makes the page poll;
 * a killed agent gets the offline banner; a silence made in the page reaches the API and can
 * be expired there too; each tile's uptime and heartbeat bar say what the history API
 * answered, and the killed server's incident shows in the page once its history is
 * refreshed; behind viewer tokens the page works through the login cookie (history
 * included) and says when the coordinator is gone; no console errors. Screenshots go to $TEST_ARTIFACTS_DIR
 * (default test-artifacts/).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createHarness, waitFor, type AgentProcess, type Harness } from '../helpers/agent-harness.js';
import { ADMIN_TOKEN, AGENT_TOKEN, VIEWER_TOKEN, startTestCoordinator, wsUrl, type TestCoordinator } from '../coordinator/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? join(ROOT, 'test-artifacts');
const FIXTURE_GPUS = join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'h100x2-problems.csv');
/** The page follows the feed; a change must be on screen within this of the agent's event. */
const UPDATE_BUDGET_MS = 2000;
const HOST = 'gpu-dash';

// Under CI the browser is installed by .ci/run: a missing one is a failure there, not a skip.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is missing (apt-get install chromium); CI=true runs this anyway` : false;

let browser: Browser;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  // root in a container has no user namespace for Chromium's sandbox
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
});

after(async () => {
  await browser?.close();
});

/** A page that collects its console errors and uncaught exceptions. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
}

/** Records, in the page, when each service tile's state attribute changes (page clock). */
const RECORD_STATES = `(() => {
  window.__states = [];
  window.__loadId = window.__loadId || Math.random().toString(36).slice(2);
  const root = document.getElementById('hosts');
  new MutationObserver((records) => {
    const t = Date.now();
    for (const r of records) {
      const el = r.target;
      if (r.attributeName !== 'data-state' || !el.dataset || !el.dataset.service) continue;
      window.__states.push({ host: el.closest('[data-host]').dataset.host, service: el.dataset.service, state: el.dataset.state, badge: el.querySelector('.badge').textContent, t });
    }
  }).observe(root, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  return window.__loadId;
})()`;

interface StateRecord {
  host: string;
  service: string;
  state: string;
  badge: string;
  t: number;
}

/** The history API's answer as the test reads it (docs/http-api.md). */
interface HistoryAnswer {
  buckets: { at: string; probes: number; failures: number; stateSeconds: Record<string, number> }[];
  uptime: Record<'24h' | '7d' | '30d', number | null>;
  incidents: { startedAt: string; endedAt: string | null; worst: string; restarts: number }[];
}

/** A history answer the page received, with the coordinator's clock (its Date header). */
interface SeenHistory {
  service: string;
  body: HistoryAnswer;
  date: number;
}

/**
 * What the heartbeat bar must say for an answer: the last 60 minutes up to the coordinator's
 * minute, each not up (time in a state other than healthy, degraded, unknown), with failures
 * (a failed probe), ok (observed) or no data. Written out here rather than imported from the
 * page, so the page's own reading is what gets checked.
 */
function expectedSummary(answer: HistoryAnswer, date: number): string {
  const byMinute = new Map(answer.buckets.map((b) => [Date.parse(b.at), b]));
  const last = answer.buckets.length ? Date.parse(answer.buckets[answer.buckets.length - 1]!.at) : 0;
  const end = Math.max(Math.floor(date / 60_000) * 60_000, last);
  const counts = { ok: 0, failures: 0, down: 0, none: 0 };
  for (let i = 0; i < 60; i++) {
    const b = byMinute.get(end - i * 60_000);
    const seen = Object.entries(b?.stateSeconds ?? {}).filter(([state, sec]) => sec > 0 && state !== 'unknown');
    if (seen.some(([state]) => state !== 'healthy' && state !== 'degraded')) counts.down++;
    else if (b && b.failures > 0) counts.failures++;
    else if (b && (seen.length > 0 || b.probes > 0)) counts.ok++;
    else counts.none++;
  }
  const words = [`${counts.ok} ok`, `${counts.failures} with failures`, `${counts.down} not up`, `${counts.none} no data`].filter((w) => !w.startsWith('0 '));
  return `last 60 min: ${words.join(', ')}`;
}

interface ApiEvent {
  agentId: string;
  at: string;
  type: string;
  service?: string;
  from?: string;
  to?: string;
}

describe('dashboard in Chromium: a coordinator and a real agent', { skip }, () => {
  let t: TestCoordinator;
  let h: Harness;
  let agent: AgentProcess;
  let page: Page;
  let errors: string[];
  let loadId: string;
  const seenHistory: SeenHistory[] = [];

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${t.coord.url}${path}`, init);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  const tile = (service: string) => page.locator(`[data-host="${HOST}"] [data-service="${service}"]`);

  before(async () => {
    t = await startTestCoordinator('fleet: { agentLostAfter: 2s, heartbeatInterval: 1s }\n');
    h = createHarness();
    // no slow model load: the agent's restart takes ~0.3 s, and the feed must still show the
    // failure (polling once a second could miss it whole)
    const llama = await h.startEmulator('dash-llama.service', 'llamacpp');
    const qwen = await h.startEmulator('dash-qwen.service', 'vllm');
    // nvidia-smi as the agent runs it: the fixture of two busy H100s, one with ECC errors
    const smi = join(h.dir, 'fake-nvidia-smi');
    writeFileSync(smi, `#!/bin/sh\ncat '${FIXTURE_GPUS}'\n`, { mode: 0o755 });
    agent = h.spawnAgent(`agent: { id: ${HOST}, labels: { rack: r1 } }
coordinator: { url: '${wsUrl(t.coord)}', token: '${AGENT_TOKEN}', spoolDir: '${join(h.dir, 'spool')}', heartbeat: 1s, reconnectMax: 2s }
defaults: { interval: 1s, timeout: 1s, retries: 2, retryDelay: 300ms, startupGrace: 10s, recoverAfter: 1 }
gpu: { enabled: true, interval: 2s, command: '${smi}' }
restart: { maxRestarts: 20, window: 10m, backoff: 200ms }
services:
  - { name: llama-vision, kind: llamacpp, url: 'http://127.0.0.1:${llama}', unit: dash-llama.service }
  - { name: qwen-vl, kind: vllm, url: 'http://127.0.0.1:${qwen}', unit: dash-qwen.service }
`);
    ({ page, errors } = await openPage());
    page.on('response', (r) => {
      const m = /\/api\/v1\/services\/[^/]+\/([^/]+)\/history/.exec(r.url());
      if (!m || r.status() !== 200) return;
      r.json().then(
        (body: HistoryAnswer) => seenHistory.push({ service: decodeURIComponent(m[1]!), body, date: Date.parse(r.headers().date!) }),
        () => undefined,
      );
    });
  });

  after(async () => {
    await page?.close();
    await h?.cleanup();
    await t?.close();
  });

  test('shows the fleet: the host, each service healthy in words, the GPU figures', async () => {
    await page.goto(`${t.coord.url}/`);
    await tile('llama-vision').and(page.locator('[data-state="healthy"]')).waitFor({ timeout: 20_000 });
    await tile('qwen-vl').and(page.locator('[data-state="healthy"]')).waitFor({ timeout: 10_000 });
    assert.match((await tile('llama-vision').locator('.badge').textContent())!, /healthy/, 'the state in words, not colour alone');
    assert.equal(await page.locator('#static').isHidden(), true, 'the no-JS table made way for the live view');
    const gpus = page.locator(`[data-host="${HOST}"] .gpus`);
    await gpus.getByText('NVIDIA H100 80GB HBM3').first().waitFor({ timeout: 10_000 });
    const gpuText = (await gpus.textContent())!;
    assert.match(gpuText, /100 % busy/);
    assert.match(gpuText, /89 °C/);
    assert.match(gpuText, /2 uncorrected ECC errors/);
    assert.equal(await page.locator('#link').textContent(), '● live');
    assert.equal(await page.locator('#link').getAttribute('data-source'), 'feed', 'the data comes through the feed, not polling');
    loadId = (await page.evaluate(RECORD_STATES)) as string;
    await shoot(page, 'fleet');
  });

  test('each tile shows its uptime and a heartbeat bar whose summary matches the history API', async () => {
    for (const service of ['llama-vision', 'qwen-vl']) {
      const history = tile(service).locator('.tile-history[data-history="loaded"]');
      await history.waitFor({ timeout: 10_000 });
      const seen = await waitFor(() => seenHistory.filter((x) => x.service === service).at(-1), 5000, `the page's history answer for ${service}`);
      const summary = (await history.locator('.heartbeat-summary').textContent())!;
      assert.equal(summary, expectedSummary(seen.body, seen.date), `${service}: the bar's words say what the API answered`);
      assert.equal(await history.locator('.heartbeat .hb').count(), 60, 'one segment per minute of the last hour');
      // an answer from the service's first second may have observed nothing yet: "no data"
      const pct = seen.body.uptime['24h'];
      const shown = (await history.locator('.uptime-24h').textContent())!;
      assert.equal(shown, pct === null ? 'no data' : pct === 100 ? '100 %' : `${(Math.floor(pct * 100) / 100).toFixed(2)} %`, `${service}: uptime ${pct}`);
      assert.match((await history.locator('.uptime-windows').textContent())!, /7 d: .+ · 30 d: .+/);
    }
    // what the page asked agrees with a request of the test's own, minute boundaries aside
    const { uptime } = await api<HistoryAnswer>(`/api/v1/services/${HOST}/qwen-vl/history?range=1h`);
    assert.equal(typeof uptime['24h'], 'number');
  });

  test('a killed server: its tile shows the failure, then healthy again, each within 2 s of the agent\'s event, without a reload', async () => {
    const killedAt = Date.now();
    process.kill(h.sandbox.mainPid('dash-llama.service'), 'SIGKILL');
    let failed: ApiEvent | undefined;
    let healed: ApiEvent | undefined;
    await waitFor(async () => {
      const { events } = await api<{ events: ApiEvent[] }>(`/api/v1/events?host=${HOST}&service=llama-vision&type=state_changed&since=${killedAt - 1000}`);
      failed = events.find((e) => e.from === 'healthy' && e.to !== 'healthy');
      healed = failed && events.find((e) => e.to === 'healthy' && Date.parse(e.at) >= Date.parse(failed!.at));
      return healed !== undefined;
    }, 30_000, 'the agent reports llama-vision failed and healthy again');
    // the last change reaches the page within the budget; give it that long before reading
    await tile('llama-vision').and(page.locator('[data-state="healthy"]')).waitFor({ timeout: UPDATE_BUDGET_MS + 1000 });
    const states = (await page.evaluate('window.__states')) as StateRecord[];
    const mine = states.filter((s) => s.host === HOST && s.service === 'llama-vision');
    const shownFailed = mine.find((s) => s.state !== 'healthy');
    const shownHealed = shownFailed && mine.find((s) => s.state === 'healthy' && s.t >= shownFailed.t);
    assert.ok(shownFailed && shownHealed, `the tile went through a failure and back: ${JSON.stringify(mine)}`);
    const failLag = shownFailed.t - Date.parse(failed!.at);
    const healLag = shownHealed.t - Date.parse(healed!.at);
    console.log(`dashboard update latency: failure ${failLag} ms (${failed!.to} at ${failed!.at}, shown ${shownFailed.state}), healthy ${healLag} ms`);
    assert.ok(failLag <= UPDATE_BUDGET_MS, `failure shown ${failLag} ms after the agent's event`);
    assert.ok(healLag <= UPDATE_BUDGET_MS, `healthy shown ${healLag} ms after the agent's event`);
    assert.match(shownFailed.badge, new RegExp(shownFailed.state === 'gave_up' ? 'gave up' : shownFailed.state), 'the failure in words');
    assert.equal(await page.evaluate('window.__loadId'), loadId, 'the same page load: no reload');
    // the restart is counted and its evidence is one click away
    await tile('llama-vision').getByText(/1 restart/).waitFor();
    await tile('llama-vision').getByRole('button', { name: 'Last restart evidence' }).click();
    await tile('llama-vision').locator('.evidence').getByText('Restart started').waitFor();
    assert.match((await tile('llama-vision').locator('.evidence').textContent())!, /only to token holders/, 'an open API keeps evidence from anonymous readers');
    await shoot(page, 'restart');
  });

  test('a restart started from the page: confirmed from a dry run, in GET /api/v1/restarts and the audit log, shown to the end', async () => {
    await page.getByLabel('Admin token', { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Keep for this tab' }).click();
    const dialog = page.locator('#restart-dialog');
    // a selection by the current filter: the dry run lists both services, nothing is sent
    await page.getByRole('button', { name: 'Select shown services' }).click();
    await page.locator('#selection-count').getByText('2 services selected').waitFor();
    await page.getByRole('button', { name: 'Restart selected…' }).click();
    await dialog.getByRole('button', { name: 'Restart 2 services' }).waitFor();
    assert.deepEqual((await dialog.getByRole('list', { name: 'services to restart' }).locator('li').allTextContents()).map((t) => t.split(' ')[0]), ['llama-vision', 'qwen-vl']);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Clear selection' }).click();
    // one tile's own button: confirm, then follow the job
    await tile('qwen-vl').getByRole('button', { name: `Restart qwen-vl on ${HOST}` }).click();
    await dialog.getByRole('list', { name: 'services to restart' }).getByText('qwen-vl').waitFor();
    await dialog.getByLabel('Reason (optional)').fill('dashboard test');
    await dialog.getByRole('button', { name: 'Restart 1 service' }).click();
    let job: { id: string; reason: string; createdBy: string; targets: { host: string; service: string }[] } | undefined;
    await waitFor(async () => {
      const { jobs } = await api<{ jobs: NonNullable<typeof job>[] }>('/api/v1/restarts');
      job = jobs.find((j) => j.reason === 'dashboard test');
      return job !== undefined;
    }, 5000, 'the job in GET /api/v1/restarts');
    assert.deepEqual(job!.targets.map((x) => `${x.host}/${x.service}`), [`${HOST}/qwen-vl`]);
    const { entries } = await api<{ entries: { action: string; target: string; status: number | null }[] }>('/api/v1/audit?action=restart.*', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.ok(entries.some((e) => e.action === 'restart.create' && e.target === job!.id && e.status === 202), `restart.create of ${job!.id} in the audit log`);
    const shown = page.locator(`#jobs [data-job="${job!.id}"]`);
    await shown.and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: 30_000 });
    assert.match((await shown.textContent())!, /succeeded[\s\S]*1 healthy[\s\S]*✓ healthy — qwen-vl on gpu-dash/, 'the end state, the counts and the target in words');
    await shoot(page, 'restart-job');
  });

  test('maintenance set from the page: in the fleet view and on the host; ended from the page', async () => {
    const card = page.locator(`[data-host="${HOST}"]`);
    await card.getByRole('button', { name: `Put ${HOST} in maintenance` }).click();
    await card.getByLabel('For').selectOption('1h');
    await card.getByLabel('Comment').fill('driver update');
    await card.getByRole('button', { name: 'Start maintenance' }).click();
    let maintenance: { until: string; comment: string; by: string } | null = null;
    await waitFor(async () => {
      const { hosts } = await api<{ hosts: { id: string; maintenance: typeof maintenance }[] }>('/api/v1/fleet');
      maintenance = hosts.find((x) => x.id === HOST)?.maintenance ?? null;
      return maintenance !== null;
    }, 5000, 'maintenance in GET /api/v1/fleet');
    assert.equal(maintenance!.comment, 'driver update');
    const hoursLeft = (Date.parse(maintenance!.until) - Date.now()) / 3_600_000;
    assert.ok(hoursLeft > 0.9 && hoursLeft <= 1, `until ${maintenance!.until}: one hour from now`);
    const banner = card.locator('.banner.maintenance');
    await banner.waitFor({ state: 'visible', timeout: UPDATE_BUDGET_MS });
    const bannerText = (await banner.textContent())!;
    assert.match(bannerText, /In maintenance until \S+ \(in \d+ min\): /, 'until when, in words');
    assert.ok(bannerText.includes(`“driver update” by ${maintenance!.by}`), `why and who: ${bannerText}`);
    assert.equal(await card.getAttribute('data-maintenance'), 'true');
    await shoot(page, 'maintenance');
    await card.getByRole('button', { name: `End maintenance of ${HOST}` }).click();
    await banner.waitFor({ state: 'hidden', timeout: UPDATE_BUDGET_MS + 3000 });
    const { hosts } = await api<{ hosts: { id: string; maintenance: unknown }[] }>('/api/v1/fleet');
    assert.equal(hosts.find((x) => x.id === HOST)?.maintenance, null);
    const { entries } = await api<{ entries: { action: string; target: string }[] }>('/api/v1/audit?action=maintenance.*', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.deepEqual(entries.filter((e) => e.target === HOST).map((e) => e.action), ['maintenance.off', 'maintenance.on']);
  });

  test('the killed server\'s incident shows in the page once its history is refreshed (about a minute)', async () => {
    const { incidents } = await api<HistoryAnswer>(`/api/v1/services/${HOST}/llama-vision/history`);
    const incident = incidents.find((i) => i.endedAt !== null);
    assert.ok(incident, `the API has the ended incident: ${JSON.stringify(incidents)}`);
    // the page refreshes each service's history once a minute, not on every feed change
    const row = page.locator(`#incidents tr[data-incident="${HOST}/llama-vision"][data-ongoing="false"]`);
    await row.first().waitFor({ timeout: 75_000 });
    const text = (await row.first().textContent())!;
    const worst = incident.worst === 'gave_up' ? 'gave up restarting' : incident.worst;
    assert.ok(text.includes(worst), `the worst state in words: ${text}`);
    assert.ok(text.endsWith(String(incident.restarts)), `the restarts: ${text}`);
    // the tile's own history lists it too, behind its uptime summary
    const details = tile('llama-vision').locator('details.history');
    await details.locator('summary').click();
    await details.locator('.tile-incidents li[data-ongoing="false"]').first().waitFor();
    assert.match((await details.locator('.tile-incidents li').first().textContent())!, /started .+, lasted \d+ (s|min)/);
    assert.notEqual((await tile('llama-vision').locator('.uptime-24h').textContent())!, '100 %', 'the failure cost uptime');
    await shoot(page, 'incident');
  });

  test('a restart aborted from the page: the service in progress finishes, the other is skipped, the abort is audited', async () => {
    const dialog = page.locator('#restart-dialog');
    await page.getByRole('button', { name: 'Select shown services' }).click();
    await page.getByRole('button', { name: 'Restart selected…' }).click();
    await dialog.getByLabel('Reason (optional)').fill('abort test');
    // the agent holds its first command while stopped, so the job is still running when Abort is pressed
    const agentPid = agent.child.pid!;
    process.kill(agentPid, 'SIGSTOP');
    let job: { id: string; state: string; abortRequested: boolean; targets: { service: string; state: string }[] } | undefined;
    try {
      await dialog.getByRole('button', { name: 'Restart 2 services' }).click();
      await page.getByRole('button', { name: 'Clear selection' }).click();
      await waitFor(async () => {
        const { jobs } = await api<{ jobs: NonNullable<typeof job>[] }>('/api/v1/restarts');
        job = jobs.find((j) => (j as unknown as { reason: string }).reason === 'abort test');
        return job !== undefined;
      }, 5000, 'the job in GET /api/v1/restarts');
      const shown = page.locator(`#jobs [data-job="${job!.id}"]`);
      await shown.getByRole('button', { name: /^Abort restart of / }).click();
      await shown.getByText('abort requested').waitFor({ timeout: 5000 });
      job = await api(`/api/v1/restarts/${job!.id}`);
      assert.equal(job!.abortRequested, true);
    } finally {
      process.kill(agentPid, 'SIGCONT');
    }
    const shown = page.locator(`#jobs [data-job="${job!.id}"]`);
    await shown.and(page.locator('[data-state="aborted"]')).waitFor({ timeout: 30_000 });
    const text = (await shown.textContent())!;
    assert.match(text, /aborted[\s\S]*1 healthy[\s\S]*1 skipped/, text);
    assert.match(text, /– skipped — \S+ on gpu-dash/);
    assert.equal(await shown.getByRole('button', { name: /^Abort restart of / }).isVisible(), false, 'no Abort once the job ended');
    const { entries } = await api<{ entries: { action: string; target: string; status: number | null }[] }>('/api/v1/audit?action=restart.*', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.ok(entries.some((e) => e.action === 'restart.abort' && e.target === job!.id && e.status === 200), `restart.abort of ${job!.id} in the audit log`);
    await shoot(page, 'restart-aborted');
    // both services answer again before the next test
    await waitFor(async () => {
      const { hosts } = await api<{ hosts: { id: string; services: { state: string }[] }[] }>('/api/v1/fleet');
      return hosts.find((x) => x.id === HOST)?.services.every((s) => s.state === 'healthy') === true;
    }, 20_000, 'both services healthy again');
  });

  test('a killed agent: the host shows the offline banner', async () => {
    await agent.stop('SIGKILL');
    const banner = page.locator(`[data-host="${HOST}"] .banner.offline`);
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    assert.match((await banner.textContent())!, /Agent offline since \S+/);
    assert.equal(await banner.getAttribute('role'), 'alert');
  });

  test('a silence created from the page, from the alert\'s labels, appears in the API; the page can expire it', async () => {
    const row = page.locator('tr[data-alert-state="firing"]').filter({ hasText: 'LLMAgentOffline' });
    await row.waitFor({ timeout: 15_000 });
    await page.getByLabel('Admin token', { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Keep for this tab' }).click();
    await row.getByRole('button', { name: /^Silence LLMAgentOffline on gpu-dash/ }).click();
    await page.getByLabel('Comment').fill('agent host rebooting');
    await page.getByLabel('Created by').fill('dashboard-test');
    await page.getByRole('button', { name: 'Create silence' }).click();
    let silence: { id: string; state: string; comment: string; createdBy: string; matchers: { name: string; value: string }[] } | undefined;
    await waitFor(async () => {
      const { silences } = await api<{ silences: NonNullable<typeof silence>[] }>('/api/v1/silences');
      silence = silences.find((s) => s.comment === 'agent host rebooting');
      return silence !== undefined;
    }, 5000, 'the silence in GET /api/v1/silences');
    assert.equal(silence!.createdBy, 'dashboard-test');
    assert.deepEqual(silence!.matchers.map((m) => `${m.name}=${m.value}`).sort(), ['alertname=LLMAgentOffline', `host=${HOST}`]);
    await page.locator('tr[data-alert-state="suppressed"]').filter({ hasText: 'LLMAgentOffline' }).waitFor({ timeout: 8000 });
    await page.locator(`tr[data-silence="${silence!.id}"]`).waitFor({ timeout: 8000 });
    await shoot(page, 'silenced');
    await page.locator(`tr[data-silence="${silence!.id}"]`).getByRole('button', { name: /^Expire/ }).click();
    await waitFor(async () => (await api<{ state: string }>(`/api/v1/silences/${silence!.id}`)).state === 'expired', 5000, 'the silence expired');
  });

  test('a coordinator without the feed (its upgrade and GET /api/v1/feed answer 404): the page polls instead', async () => {
    const other = await openPage();
    try {
      // the page's own WebSocket goes to a path this coordinator refuses, as an older one would
      await other.page.addInitScript(`{
        const Real = window.WebSocket;
        window.WebSocket = class extends Real { constructor(url, protocols) { super(String(url).replace('/api/v1/feed', '/api/v1/no-feed'), protocols); } };
      }`);
      await other.page.route('**/api/v1/feed', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no such route"}}' }));
      await other.page.goto(`${t.coord.url}/`);
      await other.page.locator('#link[data-source="polling"][data-link="live"]').waitFor({ timeout: 10_000 });
      assert.equal(await other.page.locator('#link').textContent(), '● live (polling)');
      await other.page.locator(`[data-host="${HOST}"] [data-service="qwen-vl"][data-state]`).waitFor({ timeout: 5000 });
      // the browser reports the refused upgrade itself; anything else is the page's fault
      assert.deepEqual(other.errors.filter((e) => !/WebSocket connection to .*no-feed.* failed/.test(e) && !/404/.test(e)), []);
    } finally {
      await other.page.close();
    }
  });

  test('no console errors in the whole session', () => {
    assert.deepEqual(errors, []);
  });
});

describe('dashboard in Chromium: behind viewer tokens', { skip }, () => {
  let t: TestCoordinator;
  let page: Page;
  let errors: string[];

  before(async () => {
    t = await startTestCoordinator('', {}, { viewerTokens: [VIEWER_TOKEN] });
    ({ page, errors } = await openPage());
  });

  after(async () => {
    await page?.close();
    await t?.close().catch(() => undefined);
  });

  test('the login leads to a live page: its requests carry the session cookie', async () => {
    await page.goto(`${t.coord.url}/`);
    assert.match(page.url(), /\/login$/, 'a browser without a session is sent to the login');
    await page.getByLabel('Token').fill(VIEWER_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#link[data-link="live"]').waitFor({ timeout: 10_000 });
    await page.getByText('No agents have connected yet.').waitFor();
    assert.deepEqual(errors, []);
    // the history requests ride on the same cookie: a service nobody knows is 404, not 401
    assert.equal(await page.evaluate(() => fetch('/api/v1/services/nohost/nosvc/history', { credentials: 'same-origin' }).then((r) => r.status)), 404);
  });

  test('the coordinator gone: "disconnected — reconnecting" is shown', async () => {
    await t.close();
    const link = page.locator('#link[data-link="retrying"]');
    await link.waitFor({ timeout: 8000 });
    assert.match((await link.textContent())!, /disconnected — reconnecting in \d+ s/);
    assert.equal(await link.getAttribute('role'), 'status');
    await shoot(page, 'disconnected');
  });
});
