import type { Server } from 'node:http';

/** An HTTP server a test talks to on 127.0.0.1 (a webhook receiver, a provider's stand-in), on a free port. */
export abstract class LoopbackPeer {
  port = 0;
  protected abstract readonly server: Server;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
