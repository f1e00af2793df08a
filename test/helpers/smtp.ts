import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/**
 * A real SMTP server on loopback (the `smtp-server` package) with AUTH PLAIN/LOGIN that
 * checks user and password; every accepted message is parsed back with mailparser.
 */

export interface ReceivedMail {
  at: number;
  /** the authenticated user */
  user: string | undefined;
  envelope: { from: string | undefined; to: string[] };
  mail: ParsedMail;
}

export interface SmtpTestServer {
  readonly port: number;
  readonly messages: ReceivedMail[];
  /** AUTH attempts with the wrong user or password */
  readonly authFailures: number;
  /** answer the next `count` messages' DATA with `code` (451: try later; 554: refused) */
  failNext(count: number, code: number, message?: string): void;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpTestOptions {
  user?: string;
  pass?: string;
  /** offer STARTTLS (smtp-server's built-in self-signed certificate) */
  starttls?: boolean;
}

export async function startSmtpServer(options: SmtpTestOptions = {}): Promise<SmtpTestServer> {
  const user = options.user ?? 'alerts';
  const pass = options.pass ?? 's3cret-smtp-pass';
  const messages: ReceivedMail[] = [];
  const failures: { code: number; message: string }[] = [];
  let authFailures = 0;

  const config: SMTPServerOptions = {
    authMethods: ['PLAIN', 'LOGIN'],
    // loopback only: AUTH without TLS is allowed here, as in a local relay
    allowInsecureAuth: true,
    authOptional: false,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) return cb(null, { user });
      authFailures += 1;
      const err = Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 });
      return cb(err);
    },
    onData(stream, session, cb) {
      const fail = failures.shift();
      simpleParser(stream)
        .then((mail) => {
          if (fail) return cb(Object.assign(new Error(fail.message), { responseCode: fail.code }));
          messages.push({
            at: Date.now(),
            user: session.user as string | undefined,
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            mail,
          });
          cb();
        })
        .catch((err: Error) => cb(err));
    },
  };
  const server = new SMTPServer(config);
  server.on('error', () => {
    // a client that drops the connection is not the test's failure
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    messages,
    get authFailures() {
      return authFailures;
    },
    failNext(count, code, message = code < 500 ? 'Try again later' : 'Message refused') {
      for (let i = 0; i < count; i++) failures.push({ code, message });
    },
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} mails, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
