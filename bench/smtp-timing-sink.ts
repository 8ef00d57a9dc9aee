import { SMTPServer } from 'smtp-server';

/**
 * A bare SMTP server for benchmarks: it accepts everything and notes, per recipient, when the
 * message was accepted. No parsing, so the sink is not what limits the figure.
 */
export class TimingSink {
  readonly accepted: Array<{ to: string; at: number }> = [];
  #server: SMTPServer;
  port = 0;

  constructor() {
    this.#server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      maxClients: 100,
      onData: (stream, session, callback) => {
        stream.on('data', () => undefined);
        stream.on('end', () => {
          const at = performance.timeOrigin + performance.now();
          for (const recipient of session.envelope.rcptTo) this.accepted.push({ to: recipient.address, at });
          callback();
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.#server.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length < count) {
      if (Date.now() > deadline)
        throw new Error(`sink: ${this.accepted.length} of ${count} messages after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
