/**
 * Fleet-wide outage (docs/states-and-alerts.md): a coordinator started in-process,
 * 250 simulated agents × 4 services speaking the real protocol over real WebSockets, and
 * four receivers: Slack, Discord and webhook stand-ins that enforce the providers' limits,
 * and a real SMTP server with AUTH. 1,000 services go down within 2 s → ONE firing
 * notification per receiver (count 1000, a bounded sample); they recover → ONE resolved
 * notification per receiver. Then one agent disconnects → ONE LLMAgentOffline notification
 * per receiver and nothing about its services.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseCoordinatorConfig } from '../../shared/config/coordinator-config.js';
import { createLogger } from '../../shared/logger.js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/main.js';
import { startDiscordReceiver, startSlackReceiver, startWebhookReceiver, type FakeReceiver } from '../helpers/receivers.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { SimFleet } from '../../bench/lib/sim-agent.js';

const AGENT_TOKEN = 'storm-agent-token-0123456789';
const AGENTS = 250;
const SERVICES_PER_AGENT = 4;
const TOTAL = AGENTS * SERVICES_PER_AGENT;
const GROUP_WAIT_MS = 2000;
const GROUP_INTERVAL_MS = 10_000;
const AGENT_LOST_AFTER_MS = 3000;

let dir: string;
let coord: RunningCoordinator;
let slack: FakeReceiver;
let discord: FakeReceiver;
let hook: FakeReceiver;
let smtp: SmtpTestServer;
let fleet: SimFleet;
let logs = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${summary()}\nlast coordinator log lines:\n${logs.split('\n').slice(-15).join('\n')}`);
    await sleep(25);
  }
}

interface SlackBody {
  text: string;
  blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[];
}
interface DiscordBody {
  content: string;
  embeds: { title?: string; description?: string; fields?: { name: string; value: string }[]; footer?: { text: string } }[];
}
interface WebhookBody {
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
  truncatedAlerts: number;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
}

const slackTexts = () => slack.received.map((r) => (r.body as SlackBody).text);
const discordContents = () => discord.received.map((r) => (r.body as DiscordBody).content);
const hookBodies = () => hook.received.map((r) => r.body as WebhookBody);
const subjects = () => smtp.messages.map((m) => m.mail.subject ?? '');

/** Discord notifications (a notification may be split into "(i/k)" messages): the first part of each. */
function discordNotifications(): string[] {
  return discordContents().filter((c) => !/ \((\d+)\/\d+\)$/.test(c) || / \(1\/\d+\)$/.test(c));
}

/** All parts of every Discord notification so far have arrived. */
function discordComplete(): boolean {
  const contents = discordContents();
  const last = contents.at(-1);
  if (last === undefined) return true;
  const m = / \((\d+)\/(\d+)\)$/.exec(last);
  return !m || m[1] === m[2];
}

function summary(): string {
  return [
    `slack: ${JSON.stringify(slackTexts())} rejected ${JSON.stringify(slack.rejected)}`,
    `discord: ${JSON.stringify(discordContents())} rejected ${JSON.stringify(discord.rejected)}`,
    `webhook: ${JSON.stringify(hookBodies().map((b) => `${b.status}:${b.groupLabels.alertname}:${b.alerts.length}+${b.truncatedAlerts}`))} rejected ${JSON.stringify(hook.rejected)}`,
    `email: ${JSON.stringify(subjects())} authFailures ${smtp.authFailures}`,
  ].join('\n');
}

/** How many notifications each receiver got so far (Discord counted per notification, not per message part). */
function counts(): { slack: number; discord: number; webhook: number; email: number } {
  return { slack: slack.received.length, discord: discordNotifications().length, webhook: hook.received.length, email: smtp.messages.length };
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${coord.url}${path}`);
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmh-alerts-storm-'));
  [slack, discord, hook, smtp] = await Promise.all([startSlackReceiver(), startDiscordReceiver(), startWebhookReceiver(), startSmtpServer()]);
  const yaml = `listen: 127.0.0.1:0
dataDir: ${join(dir, 'data')}
auth:
  agentTokens: ['${AGENT_TOKEN}']
fleet: { agentLostAfter: ${AGENT_LOST_AFTER_MS}ms, heartbeatInterval: 1s }
alerts: { groupBy: [alertname], groupWait: ${GROUP_WAIT_MS}ms, groupInterval: ${GROUP_INTERVAL_MS}ms, repeatInterval: 4h, sendResolved: true }
notify:
  - { name: ops-slack, type: slack, url: '${slack.url}' }
  - { name: ops-discord, type: discord, url: '${discord.url}' }
  - { name: ops-hook, type: webhook, url: '${hook.url}' }
  - name: ops-mail
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false, ignoreTLS: true, user: alerts, pass: s3cret-smtp-pass }
    from: llm-health@example.com
    to: [oncall@example.com]
`;
  const config = parseCoordinatorConfig(join(dir, 'coordinator.yaml'), yaml, { env: {} });
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString();
      if (logs.length > 2_000_000) logs = logs.slice(-1_000_000);
      cb();
    },
  });
  coord = await startCoordinator(config, { logger: createLogger({ name: 'coordinator', level: 'info', destination }), version: 'test' });
  fleet = new SimFleet({ url: `${coord.url.replace(/^http/, 'ws')}/agent`, token: AGENT_TOKEN, count: AGENTS, services: SERVICES_PER_AGENT, prefix: 'gpu-', labels: { rack: 'r1' } });
  await fleet.connectAll(25, 20_000);
  await until(() => {
    const hosts = [...coord.fleet.state.hosts.values()];
    return hosts.length === AGENTS && hosts.every((h) => h.connected && h.services.length === SERVICES_PER_AGENT && h.services.every((s) => s.state === 'healthy'));
  }, 20_000, `${AGENTS} hosts × ${SERVICES_PER_AGENT} services healthy at the coordinator`);
});

after(async () => {
  fleet?.close();
  await coord?.close();
  await Promise.all([slack?.close(), discord?.close(), hook?.close(), smtp?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`${TOTAL} services down within 2 s: ONE firing notification per receiver; all recover: ONE resolved notification per receiver`, async () => {
  assert.deepEqual(counts(), { slack: 0, discord: 0, webhook: 0, email: 0 }, 'nothing sent while all is healthy');

  // ---- the storm: every service of every agent goes down, in 5 waves over 0.5 s (all inside groupWait)
  const t0 = Date.now();
  await fleet.setAll('down', 'connection refused (unit inactive)', 500, 5);
  assert.ok(Date.now() - t0 < 2000, `all ${TOTAL} down events sent within 2 s (took ${Date.now() - t0} ms)`);
  await fleet.waitAllAcked(20_000);
  await until(() => [...coord.fleet.state.hosts.values()].every((h) => h.services.every((s) => s.state === 'down')), 10_000, 'every service down at the coordinator');

  // well past groupWait; then let a split Discord notification finish (2 s per message)
  await sleep(t0 + 3 * GROUP_WAIT_MS - Date.now());
  await until(() => counts().slack >= 1 && counts().discord >= 1 && counts().webhook >= 1 && counts().email >= 1, 15_000, 'a firing notification at every receiver');
  await until(discordComplete, 15_000, 'every part of the Discord notification');
  await sleep(1500);
  assert.deepEqual(counts(), { slack: 1, discord: 1, webhook: 1, email: 1 }, `exactly one firing notification per receiver\n${summary()}`);

  // Slack: one message, the count in its text, a bounded list plus "+N more"
  const s = slack.received[0]!.body as SlackBody;
  assert.ok(s.text.startsWith(`[FIRING:${TOTAL}] LLMServiceDown`), `slack text: ${s.text}`);
  const slackJson = JSON.stringify(s);
  assert.ok(slackJson.length < 40_000, `slack payload is bounded (${slackJson.length} chars)`);
  const more = s.blocks.flatMap((b) => b.elements ?? []).map((e) => e.text).find((t) => /^\+\d+ more$/.test(t));
  assert.ok(more, `slack says how many are not listed: ${slackJson.slice(0, 500)}`);
  const listedOnSlack = (s.blocks.map((b) => b.text?.text ?? '').join('\n').match(/:red_circle:/g) ?? []).length;
  assert.ok(listedOnSlack > 0 && listedOnSlack <= 50, `slack lists a readable sample (${listedOnSlack} alerts)`);
  assert.equal(Number(more.slice(1, -5)) + listedOnSlack, TOTAL, 'listed + "more" = 1000');
  assert.equal(slack.rejected.length, 0, `slack accepted every payload: ${JSON.stringify(slack.rejected)}`);

  // Discord: the receiver enforces Discord's limits (it rejects anything over them)
  assert.equal(discord.rejected.length, 0, `discord accepted every message: ${JSON.stringify(discord.rejected)}`);
  const discordParts = discord.received.map((r) => r.body as DiscordBody);
  for (const m of discordParts) assert.ok(m.content.startsWith(`[FIRING:${TOTAL}] LLMServiceDown`), `discord content: ${m.content}`);
  const discordFields = discordParts.flatMap((m) => m.embeds.flatMap((e) => e.fields ?? []));
  assert.ok(discordFields.length > 0 && discordFields.length <= 50, `discord lists a bounded sample (${discordFields.length} alerts)`);
  const footer = discordParts.flatMap((m) => m.embeds.map((e) => e.footer?.text)).find((t) => t !== undefined);
  assert.equal(footer, `+${TOTAL - discordFields.length} more`, 'discord says how many are not listed');

  // webhook: Alertmanager v4, at most 50 alerts, the rest counted
  const w = hookBodies()[0]!;
  assert.equal(w.status, 'firing');
  assert.deepEqual(w.groupLabels, { alertname: 'LLMServiceDown' });
  assert.ok(w.alerts.length > 0 && w.alerts.length <= 50, `webhook alerts.length ${w.alerts.length}`);
  assert.equal(w.truncatedAlerts, TOTAL - w.alerts.length, 'truncatedAlerts counts the rest');
  assert.ok(w.alerts.every((a) => a.status === 'firing' && a.labels.alertname === 'LLMServiceDown' && /^gpu-\d{3}$/.test(a.labels.host ?? '')));
  assert.ok(JSON.stringify(w).length < 100_000, 'webhook body is bounded');

  // email: real SMTP with AUTH, parsed back
  const mail = smtp.messages[0]!;
  assert.equal(mail.mail.subject, `[FIRING:${TOTAL}] LLMServiceDown`);
  assert.equal(mail.user, 'alerts', 'sent after AUTH');
  assert.deepEqual(mail.envelope.to, ['oncall@example.com']);
  assert.match(mail.mail.text ?? '', new RegExp(`${TOTAL} firing, 0 resolved`));
  assert.match(mail.mail.text ?? '', /\+\d+ more/);
  assert.ok((mail.mail.text ?? '').length < 100_000 && String(mail.mail.html).length < 200_000, 'mail bodies are bounded');
  assert.equal(smtp.authFailures, 0);

  const firing = await api<{ alerts: { state: string; labels: Record<string, string> }[] }>('/api/v1/alerts?state=firing');
  assert.equal(firing.alerts.filter((a) => a.labels.alertname === 'LLMServiceDown').length, TOTAL, 'the API lists all 1000 firing alerts');

  // ---- recovery: all 1000 back to healthy (before the group's next flush at t0 + groupWait + groupInterval)
  const before = counts();
  const t1 = Date.now();
  await fleet.setAll('healthy', 'ready', 1000, 5);
  assert.ok(Date.now() - t0 < GROUP_WAIT_MS + GROUP_INTERVAL_MS - 1000, `recovery sent before the next group flush (${Date.now() - t0} ms after the storm)`);
  await fleet.waitAllAcked(20_000);
  await until(
    () => counts().slack > before.slack && counts().discord > before.discord && counts().webhook > before.webhook && counts().email > before.email,
    GROUP_INTERVAL_MS + 15_000,
    'a resolved notification at every receiver',
  );
  await until(discordComplete, 15_000, 'every part of the Discord resolved notification');
  await sleep(2500);
  assert.deepEqual(counts(), { slack: 2, discord: 2, webhook: 2, email: 2 }, `exactly one resolved notification per receiver\n${summary()}`);
  assert.ok(slack.received[1]!.at >= t1, 'resolved after the recovery');
  assert.ok(slackTexts()[1]!.startsWith('[RESOLVED] LLMServiceDown'), `slack: ${slackTexts()[1]}`);
  for (const c of discordContents().slice(discordContents().findIndex((c) => c.startsWith('[RESOLVED]')))) assert.ok(c.startsWith('[RESOLVED] LLMServiceDown'), `discord: ${c}`);
  assert.equal(discord.rejected.length, 0);
  const wr = hookBodies()[1]!;
  assert.equal(wr.status, 'resolved');
  assert.ok(wr.alerts.length > 0 && wr.alerts.length <= 50 && wr.alerts.every((a) => a.status === 'resolved'), `webhook resolved sample: ${wr.alerts.length}`);
  assert.equal(wr.truncatedAlerts, TOTAL - wr.alerts.length);
  assert.equal(subjects()[1], '[RESOLVED] LLMServiceDown');
  const still = await api<{ alerts: unknown[] }>('/api/v1/alerts?state=firing');
  assert.equal(still.alerts.length, 0, 'nothing firing after the recovery');
});

/** `GET /api/v1/alerts?state=resolved` lists what resolved and the pipeline still holds. */
test('GET /api/v1/alerts?state=resolved lists the alerts that just resolved', async () => {
  const { alerts } = await api<{ alerts: { state: string; labels: Record<string, string> }[] }>('/api/v1/alerts?state=resolved');
  assert.equal(alerts.filter((a) => a.labels.alertname === 'LLMServiceDown').length, TOTAL, 'the 1000 alerts resolved a few seconds ago');
});

test('one agent disconnects: ONE LLMAgentOffline notification per receiver after agentLostAfter, nothing about its services', async () => {
  const victim = fleet.agents[7]!;
  const base = counts();
  const baseMessages = { slack: slack.received.length, discord: discord.received.length, webhook: hook.received.length, email: smtp.messages.length };
  const tD = Date.now();
  await victim.disconnect();

  // offline after agentLostAfter (3 s, checked every second), then groupWait (2 s)
  await until(() => counts().slack > base.slack && counts().discord > base.discord && counts().webhook > base.webhook && counts().email > base.email, 20_000, 'an LLMAgentOffline notification at every receiver');
  const firstAt = Math.min(slack.received.at(-1)!.at, discord.received.at(-1)!.at, hook.received.at(-1)!.at, smtp.messages.at(-1)!.at);
  assert.ok(firstAt - tD >= AGENT_LOST_AFTER_MS, `not before agentLostAfter (${firstAt - tD} ms after the disconnect)`);
  await until(discordComplete, 10_000, 'every part of the Discord notification');
  // well past agentLostAfter + groupWait, so any per-service notification would have come too
  await sleep(Math.max(2500, tD + AGENT_LOST_AFTER_MS + 1000 + 3 * GROUP_WAIT_MS - Date.now()));
  assert.deepEqual(counts(), { slack: base.slack + 1, discord: base.discord + 1, webhook: base.webhook + 1, email: base.email + 1 }, `exactly one notification per receiver\n${summary()}`);

  const newSlack = slack.received.slice(baseMessages.slack).map((r) => (r.body as SlackBody).text);
  const newDiscord = discord.received.slice(baseMessages.discord).map((r) => r.body as DiscordBody);
  const newHook = hook.received.slice(baseMessages.webhook).map((r) => r.body as WebhookBody);
  const newMail = smtp.messages.slice(baseMessages.email).map((m) => m.mail.subject);
  assert.deepEqual(newSlack.map((t) => t.split('\n')[0]), ['[FIRING:1] LLMAgentOffline'], 'slack: the offline alert only');
  assert.ok(newDiscord.every((m) => m.content.startsWith('[FIRING:1] LLMAgentOffline')), `discord: ${newDiscord.map((m) => m.content).join(' | ')}`);
  assert.ok(newDiscord.some((m) => JSON.stringify(m).includes(victim.id)), 'discord names the host');
  assert.equal(newHook.length, 1);
  assert.equal(newHook[0]!.status, 'firing');
  assert.deepEqual(newHook[0]!.alerts.map((a) => [a.labels.alertname, a.labels.host, a.labels.service]), [['LLMAgentOffline', victim.id, undefined]]);
  assert.deepEqual(newMail, ['[FIRING:1] LLMAgentOffline']);
  assert.ok(!JSON.stringify([newSlack, newDiscord, newHook, newMail]).includes('LLMServiceDown'), 'no per-service alert was sent');

  // the API: the host offline, its services unknown; its service alerts (if any) are not firing
  const fleetView = await api<{ hosts: { id: string; connected: boolean; services: { state: string }[] }[] }>('/api/v1/fleet');
  const host = fleetView.hosts.find((h) => h.id === victim.id)!;
  assert.equal(host.connected, false);
  assert.ok(host.services.every((s) => s.state === 'unknown'), `services of an offline agent are unknown: ${JSON.stringify(host.services)}`);
  const { alerts } = await api<{ alerts: { state: string; labels: Record<string, string>; suppressedBy: { kind: string }[] }[] }>('/api/v1/alerts');
  const offline = alerts.filter((a) => a.labels.alertname === 'LLMAgentOffline');
  assert.deepEqual(offline.map((a) => [a.labels.host, a.state]), [[victim.id, 'firing']], 'one firing LLMAgentOffline, for the victim');
  for (const a of alerts.filter((x) => x.labels.host === victim.id && x.labels.service !== undefined)) {
    // resolved ones (from the storm above) are listed too; none may be firing
    assert.ok(a.state === 'suppressed' || a.state === 'resolved', `${a.labels.alertname} of ${a.labels.service} is ${a.state}, not firing`);
    if (a.state === 'suppressed') assert.ok(a.suppressedBy.some((s) => s.kind === 'inhibited'), 'inhibited by the offline alert');
  }
  assert.equal(alerts.filter((a) => a.state === 'firing').length, 1, `only the offline alert fires: ${JSON.stringify(alerts.map((a) => [a.labels.alertname, a.labels.host, a.state]))}`);
});
