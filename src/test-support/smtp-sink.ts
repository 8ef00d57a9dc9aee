import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { ReplyHold } from './reply-hold.js';

export interface ReceivedMail {
  parsed: ParsedMail;
  raw: string;
  to: string[];
  /** Whether the message came over TLS (implicit or after STARTTLS). */
  secure: boolean;
}

/**
 * A real SMTP server on loopback that keeps what it accepts, the peer tests send mail to. A message
 * counts only once the server has answered 250 to its DATA, as a real MTA takes responsibility.
 */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  #server: SMTPServer;
  #port = 0;
  #waiters: Array<() => void> = [];
  readonly #closedSessions = new Set<string>();
  /** Delays the 250 reply to DATA, to hold sends in flight for a test. */
  replyDelayMs = 0;
  readonly #replies = new ReplyHold();
  /**
   * Keeps each message at once but delays its 250 reply: the recipient has the e-mail (and can click in
   * it) while the sender still waits to hear it was taken.
   */
  replyDelayAfterKeepingMs = 0;
  /** Messages whose DATA has arrived, answered yet or not: a send a test knows is in flight. */
  dataArrived = 0;
  /** Recipients answered 550 (mailbox unavailable) at RCPT TO. */
  readonly rejectRecipients = new Set<string>();
  /** Recipients answered 550 5.7.1 (the receiver's policy refuses the sender) at RCPT TO. */
  readonly refuseSenderFor = new Set<string>();

  /**
   * Holds the 250 reply to every DATA, the message not kept, until the function returned is called: a
   * send kept in flight for as long as a test needs, however slow the machine.
   */
  holdReplies(): () => void {
    return this.#replies.hold();
  }

  /**
   * `plain` offers no STARTTLS; `starttls` offers it and `implicit` speaks TLS from the first byte, both
   * with smtp-server's built-in self-signed certificate. With `users` (name → password) it offers AUTH,
   * over plain connections too, and refuses any other name or password.
   */
  constructor(options: { tls?: 'plain' | 'starttls' | 'implicit'; users?: Record<string, string> } = {}) {
    const tls = options.tls ?? 'plain';
    const { users } = options;
    this.#server = new SMTPServer({
      secure: tls === 'implicit',
      disabledCommands: [...(tls === 'plain' ? ['STARTTLS'] : []), ...(users ? [] : ['AUTH'])],
      authOptional: true,
      allowInsecureAuth: true,
      onAuth: (auth, _session, callback) => {
        if (auth.username !== undefined && users?.[auth.username] === auth.password)
          callback(null, { user: auth.username });
        else callback(new Error('invalid user name or password'));
      },
      logger: false,
      onClose: (session) => {
        this.#closedSessions.add(session.id);
      },
      onRcptTo: (address, _session, callback) => {
        if (this.rejectRecipients.has(address.address.toLowerCase())) {
          const error = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
          callback(error);
          return;
        }
        if (this.refuseSenderFor.has(address.address.toLowerCase())) {
          const error = Object.assign(new Error('5.7.1 sender blocked by policy'), { responseCode: 550 });
          callback(error);
          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.dataArrived++;
          const raw = Buffer.concat(chunks).toString('utf8');
          const accept = async () => {
            if (this.replyDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.replyDelayMs));
            await this.#replies.passed();
            // The client left before our 250: like a real MTA, we never accepted it.
            if (this.#closedSessions.has(session.id)) return;
            const parsed = await simpleParser(raw);
            this.received.push({
              parsed,
              raw,
              to: session.envelope.rcptTo.map((r) => r.address),
              secure: session.secure,
            });
            for (const waiter of this.#waiters.splice(0)) waiter();
            if (this.replyDelayAfterKeepingMs > 0)
              await new Promise((resolve) => setTimeout(resolve, this.replyDelayAfterKeepingMs));
            callback();
          };
          accept().catch((error: unknown) => callback(error as Error));
        });
      },
    });
  }

  /** Connection-level errors the server saw (failed TLS handshakes, dropped clients). */
  readonly errors: Error[] = [];

  get port(): number {
    return this.#port;
  }

  async start(): Promise<this> {
    this.#server.on('error', (error) => this.errors.push(error));
    await new Promise<void>((resolve) => {
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.#server.server.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Resolves once at least `count` messages were accepted; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`expected ${count} messages at the SMTP sink, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to.includes(address));
  }
}
