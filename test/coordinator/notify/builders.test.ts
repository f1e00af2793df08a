import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Notification } from '../../../coordinator/alerts/types.js';
import { MAX_SAMPLE_ALERTS } from '../../../coordinator/alerts/types.js';
import { AM_MAX_ALERTS_PER_POST, alertmanagerEndpoint, buildAlertmanagerMessages } from '../../../coordinator/notify/alertmanager.js';
import {
  DISCORD_MAX_CONTENT_CHARS,
  DISCORD_MAX_EMBED_DESCRIPTION_CHARS,
  DISCORD_MAX_EMBED_FIELDS,
  DISCORD_MAX_EMBED_TITLE_CHARS,
  DISCORD_MAX_EMBED_TOTAL_CHARS,
  DISCORD_MAX_EMBEDS,
  DISCORD_MAX_FIELD_NAME_CHARS,
  DISCORD_MAX_FIELD_VALUE_CHARS,
  DISCORD_MAX_FOOTER_CHARS,
  buildDiscordMessages,
  embedChars,
} from '../../../coordinator/notify/discord.js';
import { buildEmailMessage } from '../../../coordinator/notify/email.js';
import { notificationTitle, truncate } from '../../../coordinator/notify/format.js';
import { parseRetryAfter } from '../../../coordinator/notify/http.js';
import { scrub } from '../../../coordinator/notify/redact.js';
import { SLACK_MAX_BLOCKS, SLACK_MAX_HEADER_CHARS, SLACK_MAX_SECTION_TEXT_CHARS, SLACK_MAX_TEXT_CHARS, buildSlackMessage } from '../../../coordinator/notify/slack.js';
import { AM_ZERO_TIME, buildWebhookMessage } from '../../../coordinator/notify/webhook.js';
import { discordViolations, sampleAlert, sampleNotification, slackViolations } from '../../helpers/receivers.js';

/** Builders are pure: exact payloads, no network. */

/** gpu-1 firing, gpu-2 resolved: one of each status. */
function small(): Notification {
  const n = sampleNotification(2, { firingCount: 1, resolvedCount: 1 });
  n.alerts[1] = sampleAlert(2, { status: 'resolved', endsAt: '2024-05-01T10:05:00.000Z' });
  return n;
}

/** A fleet-wide outage: the full sample, long reasons, and more alerts than the sample holds. */
function large(truncated = 7): Notification {
  const alerts = Array.from({ length: MAX_SAMPLE_ALERTS }, (_, i) =>
    sampleAlert(i + 1, {
      annotations: { summary: `qwen-vl on gpu-${i + 1} is down: ${'connection refused '.repeat(20)}`, description: `probe log:\n${'x'.repeat(3000)}` },
    }),
  );
  return sampleNotification(0, { alerts, firingCount: alerts.length + truncated, truncatedAlerts: truncated });
}

test('title: Alertmanager subject, group labels with the alert name first', () => {
  assert.equal(notificationTitle(sampleNotification(12, { firingCount: 12 })), '[FIRING:12] LLMServiceDown service=qwen-vl');
  assert.equal(notificationTitle(sampleNotification(3, { status: 'resolved', firingCount: 0, resolvedCount: 3 })), '[RESOLVED] LLMServiceDown service=qwen-vl');
  // grouped by host only, all one alert: the alert name still leads
  const byHost = sampleNotification(2, { groupLabels: { host: 'gpu-1' } });
  assert.equal(notificationTitle(byHost), '[FIRING:2] LLMServiceDown host=gpu-1');
  // label values cannot break a title into lines
  assert.equal(notificationTitle(sampleNotification(1, { groupLabels: { alertname: 'X', service: 'a\nb' } })), '[FIRING:1] X service=a b');
  assert.equal(truncate('ab😀cd', 4), 'ab…', 'never splits a surrogate pair');
  assert.equal(truncate('abc', 3), 'abc');
});

test('slack: exact payload for a small notification', () => {
  assert.deepEqual(buildSlackMessage(small()), {
    text: '[FIRING:1] LLMServiceDown service=qwen-vl',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: '[FIRING:1] LLMServiceDown service=qwen-vl', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: '*1 firing, 1 resolved*' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            ':red_circle: *gpu-1 / qwen-vl* — qwen-vl on gpu-1 is down · since 2024-05-01T10:00:00.000Z\n' +
            ':white_check_mark: *gpu-2 / qwen-vl* — qwen-vl on gpu-2 is down · resolved 2024-05-01T10:05:00.000Z',
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: '<http://127.0.0.1:7700/|Open the llm-health dashboard>' } },
    ],
  });
});

test('slack: a large notification stays within every Block Kit limit, escapes mrkdwn, counts the rest', () => {
  const n = large(100);
  n.groupLabels = { alertname: 'LLMServiceDown', service: 'q'.repeat(400) };
  n.alerts[0] = sampleAlert(1, { annotations: { summary: '<!channel> & <b>', description: '' } });
  const m = buildSlackMessage(n);
  assert.equal(slackViolations(m), undefined);
  assert.ok(m.text.length <= SLACK_MAX_TEXT_CHARS);
  assert.ok(m.blocks.length <= SLACK_MAX_BLOCKS);
  const header = m.blocks[0] as { text: { text: string } };
  assert.ok(header.text.text.length <= SLACK_MAX_HEADER_CHARS);
  for (const b of m.blocks) if (b.type === 'section') assert.ok(b.text.text.length <= SLACK_MAX_SECTION_TEXT_CHARS);
  const all = JSON.stringify(m.blocks);
  assert.ok(all.includes('&lt;!channel&gt; &amp; &lt;b&gt;'), 'user text cannot mention @channel or inject links');
  // 20 listed, 30 more of the sample, 100 truncated
  assert.deepEqual(m.blocks.at(-2), { type: 'context', elements: [{ type: 'mrkdwn', text: '+130 more' }] });
});

test('discord: exact payload for a small notification', () => {
  assert.deepEqual(buildDiscordMessages(small()), [
    {
      content: '[FIRING:1] LLMServiceDown service=qwen-vl',
      embeds: [
        {
          title: '[FIRING:1] LLMServiceDown service=qwen-vl',
          description: '**1 firing, 1 resolved**\n[Open the llm-health dashboard](http://127.0.0.1:7700/)',
          url: 'http://127.0.0.1:7700/',
          color: 0xe01e5a,
          timestamp: '2024-05-01T10:00:10.000Z',
        },
        {
          color: 0xe01e5a,
          fields: [
            { name: '🔴 gpu-1 / qwen-vl', value: 'since <t:1714557600:R>\nqwen-vl on gpu-1 is down\nprobe failed: connection refused' },
            { name: '✅ gpu-2 / qwen-vl', value: 'resolved <t:1714557900:R>\nqwen-vl on gpu-2 is down\nprobe failed: connection refused' },
          ],
        },
      ],
      allowed_mentions: { parse: [] },
    },
  ]);
});

/** Every Discord limit, computed here rather than trusted to the builder. */
function assertWithinDiscordLimits(m: ReturnType<typeof buildDiscordMessages>[number]): void {
  assert.ok(m.content.length <= DISCORD_MAX_CONTENT_CHARS, 'content');
  assert.ok(m.embeds.length <= DISCORD_MAX_EMBEDS, 'embeds per message');
  let total = 0;
  for (const e of m.embeds) {
    assert.ok((e.title ?? '').length <= DISCORD_MAX_EMBED_TITLE_CHARS, 'title');
    assert.ok((e.description ?? '').length <= DISCORD_MAX_EMBED_DESCRIPTION_CHARS, 'description');
    assert.ok((e.footer?.text ?? '').length <= DISCORD_MAX_FOOTER_CHARS, 'footer');
    assert.ok((e.fields ?? []).length <= DISCORD_MAX_EMBED_FIELDS, 'fields');
    total += (e.title ?? '').length + (e.description ?? '').length + (e.footer?.text ?? '').length;
    for (const f of e.fields ?? []) {
      assert.ok(f.name.length > 0 && f.name.length <= DISCORD_MAX_FIELD_NAME_CHARS, 'field name');
      assert.ok(f.value.length > 0 && f.value.length <= DISCORD_MAX_FIELD_VALUE_CHARS, 'field value');
      total += f.name.length + f.value.length;
    }
  }
  assert.ok(total <= DISCORD_MAX_EMBED_TOTAL_CHARS, `total embed characters ${total}`);
  assert.equal(total, m.embeds.reduce((s, e) => s + embedChars(e), 0));
  assert.equal(discordViolations(m), undefined, 'the test receiver agrees');
}

test('discord: 50 alerts with long reasons split into several messages, each within every limit', () => {
  const n = large(7);
  const messages = buildDiscordMessages(n);
  assert.ok(messages.length > 1, `expected a split, got ${messages.length} message(s)`);
  messages.forEach(assertWithinDiscordLimits);
  // every alert of the sample appears exactly once, in order
  const names = messages.flatMap((m) => m.embeds.flatMap((e) => (e.fields ?? []).map((f) => f.name)));
  assert.deepEqual(
    names,
    n.alerts.map((a) => `🔴 ${a.labels.host} / qwen-vl`),
  );
  messages.forEach((m, i) => assert.ok(m.content.endsWith(` (${i + 1}/${messages.length})`), m.content));
  const footers = messages.flatMap((m) => m.embeds.map((e) => e.footer?.text).filter(Boolean));
  assert.deepEqual(footers, ['+7 more'], 'the rest is counted once, at the end');
  assert.equal(messages[0]!.embeds[0]!.title, '[FIRING:57] LLMServiceDown service=qwen-vl');
});

test('discord: many short alerts fill 25 fields per embed; huge titles are cut', () => {
  const alerts = Array.from({ length: MAX_SAMPLE_ALERTS }, (_, i) => sampleAlert(i + 1, { annotations: { summary: 'down', description: '' } }));
  const n = sampleNotification(0, { alerts, firingCount: 50, groupLabels: { alertname: 'LLMServiceDown', service: 's'.repeat(3000) } });
  const messages = buildDiscordMessages(n);
  messages.forEach(assertWithinDiscordLimits);
  assert.equal(messages.flatMap((m) => m.embeds.flatMap((e) => e.fields ?? [])).length, 50);
  assert.ok(messages.some((m) => m.embeds.some((e) => e.fields?.length === DISCORD_MAX_EMBED_FIELDS)));
});

test('webhook: exact Alertmanager v4 body', () => {
  const n = small();
  n.truncatedAlerts = 3;
  assert.deepEqual(buildWebhookMessage(n), {
    receiver: 'ops',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'LLMServiceDown', host: 'gpu-1', service: 'qwen-vl', severity: 'critical' },
        annotations: { summary: 'qwen-vl on gpu-1 is down', description: 'probe failed: connection refused' },
        startsAt: '2024-05-01T10:00:00.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:7700',
        fingerprint: 'fp0001',
      },
      {
        status: 'resolved',
        labels: { alertname: 'LLMServiceDown', host: 'gpu-2', service: 'qwen-vl', severity: 'critical' },
        annotations: { summary: 'qwen-vl on gpu-2 is down', description: 'probe failed: connection refused' },
        startsAt: '2024-05-01T10:00:00.000Z',
        endsAt: '2024-05-01T10:05:00.000Z',
        generatorURL: 'http://127.0.0.1:7700',
        fingerprint: 'fp0002',
      },
    ],
    groupLabels: { alertname: 'LLMServiceDown', service: 'qwen-vl' },
    commonLabels: { alertname: 'LLMServiceDown', service: 'qwen-vl', severity: 'critical' },
    commonAnnotations: { description: 'probe failed: connection refused' },
    externalURL: 'http://127.0.0.1:7700',
    version: '4',
    groupKey: '{}:{alertname="LLMServiceDown", service="qwen-vl"}',
    truncatedAlerts: 3,
  });
  // key order as Alertmanager writes it
  assert.deepEqual(Object.keys(buildWebhookMessage(n)), ['receiver', 'status', 'alerts', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL', 'version', 'groupKey', 'truncatedAlerts']);
  assert.equal(AM_ZERO_TIME, '0001-01-01T00:00:00Z');
});

test('alertmanager: exact postable alerts; endsAt only on resolved; every alert of the group in chunks', () => {
  assert.deepEqual(buildAlertmanagerMessages(small()), [
    [
      {
        labels: { alertname: 'LLMServiceDown', host: 'gpu-1', service: 'qwen-vl', severity: 'critical' },
        annotations: { summary: 'qwen-vl on gpu-1 is down', description: 'probe failed: connection refused' },
        startsAt: '2024-05-01T10:00:00.000Z',
        generatorURL: 'http://127.0.0.1:7700/',
      },
      {
        labels: { alertname: 'LLMServiceDown', host: 'gpu-2', service: 'qwen-vl', severity: 'critical' },
        annotations: { summary: 'qwen-vl on gpu-2 is down', description: 'probe failed: connection refused' },
        startsAt: '2024-05-01T10:00:00.000Z',
        endsAt: '2024-05-01T10:05:00.000Z',
        generatorURL: 'http://127.0.0.1:7700/',
      },
    ],
  ]);
  const all = Array.from({ length: 1201 }, (_, i) => sampleAlert(i + 1));
  const n = { ...sampleNotification(MAX_SAMPLE_ALERTS, { truncatedAlerts: 1201 - MAX_SAMPLE_ALERTS, firingCount: 1201 }), allAlerts: all };
  const chunks = buildAlertmanagerMessages(n);
  assert.deepEqual(
    chunks.map((c) => c.length),
    [AM_MAX_ALERTS_PER_POST, AM_MAX_ALERTS_PER_POST, 201],
  );
  assert.deepEqual(
    chunks.flat().map((a) => a.labels.host),
    all.map((a) => a.labels.host),
  );
  assert.equal(alertmanagerEndpoint('http://127.0.0.1:9093/'), 'http://127.0.0.1:9093/api/v2/alerts');
  assert.equal(alertmanagerEndpoint('http://am/prefix'), 'http://am/prefix/api/v2/alerts');
  assert.equal(alertmanagerEndpoint('http://am/api/v2/alerts'), 'http://am/api/v2/alerts');
});

test('email: exact subject and text, escaped bounded HTML, stable Message-ID', () => {
  const m = buildEmailMessage(small(), { from: 'LLM Health <llm-health@example.com>', to: ['ops@example.com'], subjectPrefix: '[prod] ' });
  const { html, ...rest } = m;
  assert.deepEqual(rest, {
    from: 'LLM Health <llm-health@example.com>',
    to: ['ops@example.com'],
    subject: '[prod] [FIRING:1] LLMServiceDown service=qwen-vl',
    text: [
      '[FIRING:1] LLMServiceDown service=qwen-vl',
      '',
      '1 firing, 1 resolved',
      '',
      '[firing] LLMServiceDown gpu-1 / qwen-vl',
      '  qwen-vl on gpu-1 is down',
      '  probe failed: connection refused',
      '  since 2024-05-01T10:00:00.000Z',
      '',
      '[resolved] LLMServiceDown gpu-2 / qwen-vl',
      '  qwen-vl on gpu-2 is down',
      '  probe failed: connection refused',
      '  resolved 2024-05-01T10:05:00.000Z',
      '',
      'Dashboard: http://127.0.0.1:7700/',
      '',
    ].join('\n'),
    messageId: '<n-0001@example.com>',
  });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.includes('<h2 style="color:#e01e5a">[FIRING:1] LLMServiceDown service=qwen-vl</h2>'));
  assert.equal(html.match(/<tr>/g)!.length, 3, 'a header row and one row per alert');
  assert.ok(html.includes('<a href="http://127.0.0.1:7700/">'));

  const hostile = sampleNotification(1, { truncatedAlerts: 4, firingCount: 5 });
  hostile.alerts[0] = sampleAlert(1, { annotations: { summary: '<script>alert(1)</script>', description: 'a & b "c"' } });
  const h = buildEmailMessage(hostile, { from: 'a@b.c', to: ['x@y.z'] });
  assert.ok(!h.html.includes('<script>'));
  assert.ok(h.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(h.html.includes('a &amp; b &quot;c&quot;'));
  assert.ok(h.html.includes('<p>+4 more</p>'));
  assert.ok(h.text.includes('+4 more'));
  assert.equal(buildEmailMessage(sampleNotification(1, { groupLabels: { alertname: 'A\r\nBcc: evil@x' } }), { from: 'a@b.c', to: ['x@y.z'] }).subject, '[FIRING:1] A Bcc: evil@x', 'no header injection through a label');
});

test('Retry-After: delay-seconds, fractional seconds, HTTP-date, junk', () => {
  const now = Date.parse('2024-05-01T10:00:00Z');
  assert.equal(parseRetryAfter('5', now), 5000);
  assert.equal(parseRetryAfter(' 1.5 ', now), 1500);
  assert.equal(parseRetryAfter(['30', '1'], now), 30_000);
  assert.equal(parseRetryAfter('Wed, 01 May 2024 10:00:42 GMT', now), 42_000);
  assert.equal(parseRetryAfter('Wed, 01 May 2024 09:00:00 GMT', now), 0, 'a past date means now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-3', now), undefined);
  assert.equal(parseRetryAfter('', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('scrub: webhook URL secrets and passwords never survive in error text', () => {
  const url = 'https://hooks.slack.com/services/T0AAAA/B0BBBB/SuperSecretToken123?x=querysecret';
  const text = `connect to ${url} failed; path /services/T0AAAA/B0BBBB/SuperSecretToken123 token SuperSecretToken123 q=querysecret pw hunter22 ${Buffer.from('hunter22').toString('base64')}`;
  const out = scrub(text, { urls: [url], values: ['hunter22'] });
  for (const secret of ['SuperSecretToken123', 'querysecret', 'hunter22', Buffer.from('hunter22').toString('base64'), 'T0AAAA']) assert.ok(!out.includes(secret), `${secret} in ${out}`);
  assert.ok(out.includes('hooks.slack.com'), 'where it went is still said');
});
