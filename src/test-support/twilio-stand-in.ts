import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { LoopbackPeer } from './loopback-peer.js';

export interface SentSms {
  accountSid: string;
  authorization: string | undefined;
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string;
}

/**
 * A local HTTP server speaking Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, Basic auth): it records each message and answers as Twilio does, or with the failures
 * a test queues (`{ status: 400, code: 21610 }` for a recipient who replied STOP).
 */
export class TwilioStandIn extends LoopbackPeer {
  readonly sent: SentSms[] = [];
  failures: Array<{ status: number; code?: number; message?: string }> = [];
  protected readonly server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', () => {
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(request.url ?? '');
      if (request.method !== 'POST' || !match) {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"code":20404,"message":"not found"}');
        return;
      }
      const failure = this.failures.shift();
      if (failure) {
        response.writeHead(failure.status, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            code: failure.code,
            message: failure.message ?? 'refused',
            status: failure.status,
          }),
        );
        return;
      }
      const form = new URLSearchParams(raw);
      this.sent.push({
        accountSid: decodeURIComponent(match[1] ?? ''),
        authorization: request.headers.authorization,
        to: form.get('To') ?? '',
        from: form.get('From') ?? undefined,
        messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
        body: form.get('Body') ?? '',
      });
      const sid = `SM${randomBytes(16).toString('hex')}`;
      response
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sid, status: 'queued', to: form.get('To'), body: form.get('Body') }));
    });
  });
}
