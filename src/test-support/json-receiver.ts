import { createServer, type Server } from 'node:http';
import { LoopbackPeer } from './loopback-peer.js';

/** A receiver on loopback (a CRM, a team's chat) that keeps the JSON body of each call and answers 204. */
export class JsonReceiver<Body = Record<string, unknown>> extends LoopbackPeer {
  readonly received: Body[] = [];
  protected readonly server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      this.received.push(JSON.parse(body) as Body);
      response.writeHead(204).end();
    });
  });
}
