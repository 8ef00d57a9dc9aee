import { createServer, type Server } from 'node:http';
import { LoopbackPeer } from './loopback-peer.js';

/**
 * A receiver on loopback (a CRM, a team's chat) that keeps the JSON body of each call and answers 204,
 * or first the statuses in `answers`, one a call.
 */
export class JsonReceiver<Body = Record<string, unknown>> extends LoopbackPeer {
  readonly received: Body[] = [];
  /** Every call in the order it arrived, with its path and the status it was answered (`received` keeps the bodies). */
  readonly arrivals: Array<{ body: Body; status: number; path: string }> = [];
  answers: number[] = [];
  protected readonly server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const parsed = JSON.parse(body) as Body;
      const status = this.answers.shift() ?? 204;
      this.received.push(parsed);
      this.arrivals.push({ body: parsed, status, path: request.url ?? '' });
      response.writeHead(status).end();
    });
  });
}

/**
 * Webhook settings with one destination, `crm`, calling the receiver on loopback: what the hand-off
 * tests stand a CRM up with. Three attempts, so a test sees retries run out soon.
 */
export function crmWebhooks(receiver: { baseUrl: string }) {
  return {
    destinations: [{ id: 'crm', url: receiver.baseUrl }],
    allowPrivateNetworks: true,
    timeoutMs: 5000,
    maxAttempts: 3,
  };
}
