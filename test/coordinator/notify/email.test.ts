import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { SmtpConfig } from '../../../shared/config/coordinator-config.js';
import { silentLogger } from '../../../shared/logger.js';
import { createEmailNotifier, type EmailMessage } from '../../../coordinator/notify/email.js';
import type { DeliveryResult, Notifier } from '../../../coordinator/notify/types.js';
import { sampleAlert, sampleNotification } from '../../helpers/receivers.js';
import { startSmtpServer } from '../../helpers/smtp.js';

/** The email notifier against a real SMTP server (smtp-server) with AUTH, parsed back with mailparser. */

const USER = 'alerts';
const PASS = 'Correct-Horse-Battery-9';

function smtpConfig(port: number, over: Partial<SmtpConfig> = {}): SmtpConfig {
  return { host: '127.0.0.1', port, secure: false, requireTLS: false, ignoreTLS: true, auth: { user: USER, pass: PASS }, pool: true, maxConnections: 1, ...over };
}

function mailer(port: number, over: Partial<SmtpConfig> = {}, timeoutMs = 3000): Notifier<EmailMessage> {
  return createEmailNotifier(
    { name: 'oncall-mail', smtp: smtpConfig(port, over), from: 'LLM Health <llm-health@example.com>', to: ['admin@example.com', 'oncall@example.com'], subjectPrefix: '[lab] ', timeoutMs },
    { logger: silentLogger() },
  );
}

const live = () => new AbortController().signal;

function failed(r: DeliveryResult): Extract<DeliveryResult, { ok: false }> {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  return r as Extract<DeliveryResult, { ok: false }>;
}

test('email: delivered over SMTP with AUTH; subject, text, html, from, to parse back', async (t) => {
  const smtp = await startSmtpServer({ user: USER, pass: PASS });
  const mail = mailer(smtp.port);
  t.after(async () => {
    await mail.close!();
    await smtp.close();
  });
  const n = sampleNotification(12, { firingCount: 12 });
  n.alerts[0] = sampleAlert(1, { annotations: { summary: 'qwen-vl <down> & out', description: 'connection refused' } });
  const [message] = mail.build(n);
  assert.deepEqual(await mail.deliver(message!, live()), { ok: true });
  await smtp.waitFor(1);
  const got = smtp.messages[0]!;
  assert.equal(got.user, USER);
  assert.deepEqual(got.envelope, { from: 'llm-health@example.com', to: ['admin@example.com', 'oncall@example.com'] });
  assert.equal(got.mail.subject, '[lab] [FIRING:12] LLMServiceDown service=qwen-vl');
  assert.equal(got.mail.from?.text, '"LLM Health" <llm-health@example.com>');
  const to = Array.isArray(got.mail.to) ? got.mail.to : [got.mail.to!];
  assert.deepEqual(to.flatMap((a) => a.value.map((v) => v.address)), ['admin@example.com', 'oncall@example.com']);
  assert.equal(got.mail.messageId, '<n-0001@example.com>');
  assert.equal(got.mail.text, message!.text);
  assert.ok(got.mail.text!.includes('qwen-vl <down> & out'));
  assert.equal(typeof got.mail.html, 'string');
  assert.ok((got.mail.html as string).includes('qwen-vl &lt;down&gt; &amp; out'));
  assert.equal((got.mail.html as string).match(/<tr>/g)!.length, 13);
  assert.equal(mail.describe(), `email smtp://127.0.0.1:${smtp.port} to 2 recipient(s)`);

  // the pool reuses its connection for the next mail
  assert.deepEqual(await mail.deliver(message!, live()), { ok: true });
  await smtp.waitFor(2);
});

test('email: a wrong password is a permanent failure (535) and the password never shows', async (t) => {
  const smtp = await startSmtpServer({ user: USER, pass: PASS });
  const mail = mailer(smtp.port, { auth: { user: USER, pass: 'Wrong-Password-1234' } });
  t.after(async () => {
    await mail.close!();
    await smtp.close();
  });
  const r = failed(await mail.deliver(mail.build(sampleNotification(1))[0]!, live()));
  assert.equal(r.retryable, false);
  assert.equal(r.status, 535);
  assert.match(r.error, /^EAUTH 535/);
  assert.ok(!r.error.includes('Wrong-Password-1234') && !r.error.includes(Buffer.from('Wrong-Password-1234').toString('base64')), r.error);
  assert.equal(smtp.messages.length, 0);
  assert.ok(smtp.authFailures >= 1);
});

test('email: 4xx is retryable, 5xx permanent', async (t) => {
  const smtp = await startSmtpServer({ user: USER, pass: PASS });
  const mail = mailer(smtp.port);
  t.after(async () => {
    await mail.close!();
    await smtp.close();
  });
  const [m] = mail.build(sampleNotification(1));
  smtp.failNext(1, 451, 'Local error, try again');
  const soft = failed(await mail.deliver(m!, live()));
  assert.deepEqual([soft.retryable, soft.status], [true, 451]);
  smtp.failNext(1, 554, 'Transaction failed');
  const hard = failed(await mail.deliver(m!, live()));
  assert.deepEqual([hard.retryable, hard.status], [false, 554]);
  assert.deepEqual(await mail.deliver(m!, live()), { ok: true });
});

test('email: connection refused is retryable; close() is idempotent and ends delivery', async () => {
  // a port that was free a moment ago: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const mail = mailer(port, {}, 1000);
  const r = failed(await mail.deliver(mail.build(sampleNotification(1))[0]!, live()));
  assert.equal(r.retryable, true);
  assert.match(r.error, /ECONNECTION|ECONNREFUSED|ESOCKET/);
  await mail.close!();
  await mail.close!();
  assert.deepEqual(await mail.deliver(mail.build(sampleNotification(1))[0]!, live()), { ok: false, retryable: true, error: 'notifier closed' });
});

test('email: requireTLS upgrades with STARTTLS when offered, and fails permanently when it is not', async (t) => {
  const tlsServer = await startSmtpServer({ user: USER, pass: PASS, starttls: true });
  const plainServer = await startSmtpServer({ user: USER, pass: PASS });
  // the test server's certificate is self-signed: trust is switched off here only
  const secure = mailer(tlsServer.port, { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } });
  const insecure = mailer(plainServer.port, { ignoreTLS: false, requireTLS: true });
  t.after(async () => {
    await secure.close!();
    await insecure.close!();
    await tlsServer.close();
    await plainServer.close();
  });
  const [m] = secure.build(sampleNotification(1));
  assert.deepEqual(await secure.deliver(m!, live()), { ok: true });
  await tlsServer.waitFor(1);
  const r = failed(await insecure.deliver(m!, live()));
  assert.equal(r.retryable, false, r.error);
  assert.equal(plainServer.messages.length, 0, 'nothing was sent in clear');
});
