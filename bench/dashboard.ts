/**
 * Dashboard: what the operator's page costs with a large fleet, measured in Chromium
 * (Debian's /usr/bin/chromium through playwright-core, as the browser test uses it).
 *
 * A coordinator process (`node dist/cli/main.js coordinator`) carries 200 simulated agents ×
 * 4 services (bench/lib/sim-agent.ts SimFleet, the real protocol). Then:
 *   - page weight: bytes of the HTML (with the server-rendered table of 800 rows), the
 *     stylesheet and every module the page loads, as Chromium received them; gzip sizes for
 *     reference (the coordinator does not compress; a proxy in front may);
 *   - time to first render, per cold page load (--runs, default 5, a fresh browser context
 *     each): first contentful paint (the server-rendered table) and first live render (the
 *     `llmh-first-render` mark: the modules loaded, the API answered, 200 host groups drawn);
 *   - update latency: one simulated agent's service goes down, then healthy (--changes,
 *     default 6): time from the frame sent to the tile's state changing in the page (same
 *     machine clock), with the page polling the fleet every second;
 *   - the page's long tasks (> 50 ms) while it follows the fleet for 10 s.
 *
 * node dist/bench/dashboard.js [--runs N] [--changes N] [--hosts N]
 * Results: .bench-out/dashboard-latest.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnCoordinator } from './lib/coordinator.js';
import { stopGroup } from './lib/proc.js';
import { fmt, machineInfo, max, median, printTable, runBench, writeResult } from './lib/report.js';
import { SimFleet } from './lib/sim-agent.js';

const NAME = 'dashboard';
const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', 'cli', 'main.js');
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'bench-agent-token-0123456789';
const SERVICES = 4;

const { values } = parseArgs({ options: { runs: { type: 'string' }, changes: { type: 'string' }, hosts: { type: 'string' } } });
const RUNS = Number(values.runs ?? 5);
const CHANGES = Number(values.changes ?? 6);
const HOSTS = Number(values.hosts ?? 200);

interface Load {
  bytes: Record<string, number>;
  gzipBytes: number;
  fcpMs: number;
  firstRenderMs: number;
}

/** One cold load in a fresh context: what came over the wire, first paint, first live render. */
async function coldLoad(browser: Browser, url: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const bodies: Promise<{ type: string; body: Buffer }>[] = [];
  page.on('response', (res) => {
    const type = res.request().resourceType();
    if (['document', 'script', 'stylesheet'].includes(type)) bodies.push(res.body().then((body) => ({ type, body })));
  });
  await page.goto(url);
  await page.locator('#hosts > .host').nth(HOSTS - 1).waitFor({ timeout: 30_000 });
  const timing = (await page.evaluate(`({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    first: performance.getEntriesByName('llmh-first-render')[0]?.startTime ?? null,
  })`)) as { fcp: number | null; first: number | null };
  const got = await Promise.all(bodies);
  await context.close();
  const bytes: Record<string, number> = {};
  for (const { type, body } of got) bytes[type] = (bytes[type] ?? 0) + body.length;
  return { bytes, gzipBytes: got.reduce((n, { body }) => n + gzipSync(body).length, 0), fcpMs: timing.fcp ?? NaN, firstRenderMs: timing.first ?? NaN };
}

/** Records in the page when any tile's state changes (page clock, which is this machine's). */
const RECORD = `(() => {
  window.__changes = [];
  new MutationObserver((rs) => { const t = Date.now(); for (const r of rs) { const el = r.target; if (el.dataset && el.dataset.service) window.__changes.push({ host: el.closest('[data-host]').dataset.host, service: el.dataset.service, state: el.dataset.state, t }); } })
    .observe(document.getElementById('hosts'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  window.__long = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask' });
})()`;

async function updateLatencies(page: Page, fleet: SimFleet): Promise<number[]> {
  const lags: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    // pairs: a service goes down, then the same one healthy again; each pair on another agent
    const target = fleet.agents[(Math.floor(i / 2) * 37) % fleet.agents.length]!;
    const svc = [...target.services.keys()][0]!;
    const to = i % 2 === 0 ? 'down' : 'healthy';
    const sentAt = Date.now();
    target.setState(to, to === 'down' ? 'bench: crashed' : 'bench: ready', [svc]);
    const deadline = Date.now() + 10_000;
    let shownAt: number | undefined;
    while (shownAt === undefined && Date.now() < deadline) {
      const changes = (await page.evaluate('window.__changes')) as { host: string; service: string; state: string; t: number }[];
      shownAt = changes.find((c) => c.host === target.id && c.service === svc && c.state === to && c.t >= sentAt)?.t;
      if (shownAt === undefined) await sleep(50);
    }
    if (shownAt === undefined) throw new Error(`${target.id}/${svc} never showed ${to} in the page`);
    lags.push(shownAt - sentAt);
    await sleep(700);
  }
  return lags;
}

runBench(NAME, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmh-bench-dash-'));
  const coord = await spawnCoordinator({ cli: CLI, dir, yaml: (port) => `listen: 127.0.0.1:${port}\ndataDir: ./data\nauth:\n  agentTokens: ['${TOKEN}']\n` });
  const fleet = new SimFleet({ url: `ws://127.0.0.1:${coord.port}/agent`, token: TOKEN, count: HOSTS, services: SERVICES, validateOutgoing: 'first-of-type' });
  let browser: Browser | undefined;
  try {
    await fleet.connectAll(25);
    console.log(`${NAME}: ${HOSTS} agents × ${SERVICES} services connected`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
    const loads: Load[] = [];
    for (let i = 0; i < RUNS; i++) loads.push(await coldLoad(browser, `${coord.url}/`));

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${coord.url}/`);
    await page.locator('#hosts > .host').nth(HOSTS - 1).waitFor({ timeout: 30_000 });
    await page.evaluate(RECORD);
    await sleep(10_000);
    const longTasks = (await page.evaluate('window.__long.slice()')) as number[];
    const lags = await updateLatencies(page, fleet);

    const bytes = loads[0]!.bytes;
    const total = Object.values(bytes).reduce((a, b) => a + b, 0);
    printTable(`${NAME}: ${HOSTS} hosts × ${SERVICES} services, Chromium ${browser.version()}`, ['figure', 'value'], [
      ['HTML (with the no-JS table)', `${fmt((bytes.document ?? 0) / 1024, 1)} KiB`],
      ['JS modules', `${fmt((bytes.script ?? 0) / 1024, 1)} KiB`],
      ['CSS', `${fmt((bytes.stylesheet ?? 0) / 1024, 1)} KiB`],
      ['page weight, total', `${fmt(total / 1024, 1)} KiB (${fmt(loads[0]!.gzipBytes / 1024, 1)} KiB gzipped)`],
      ['first contentful paint, median / max', `${fmt(median(loads.map((l) => l.fcpMs)), 0)} / ${fmt(max(loads.map((l) => l.fcpMs)), 0)} ms`],
      ['first live render, median / max', `${fmt(median(loads.map((l) => l.firstRenderMs)), 0)} / ${fmt(max(loads.map((l) => l.firstRenderMs)), 0)} ms`],
      ['update latency (frame sent → tile changed), median / max', `${fmt(median(lags), 0)} / ${fmt(max(lags), 0)} ms`],
      ['long tasks in 10 s of following the fleet', `${longTasks.length} (longest ${fmt(longTasks.length ? max(longTasks) : 0, 0)} ms)`],
    ]);
    const file = writeResult(NAME, {
      machine: machineInfo({ chromium: browser.version() }),
      hosts: HOSTS,
      services: SERVICES,
      bytes: { ...bytes, total, gzip: loads[0]!.gzipBytes },
      loads,
      updateLatencyMs: lags,
      longTasksMs: longTasks,
    });
    console.log(`\n${NAME}: results in ${file}`);
  } finally {
    await browser?.close();
    fleet.agents.forEach((a) => a.terminate());
    await stopGroup(coord.child);
    rmSync(dir, { recursive: true, force: true });
  }
});
