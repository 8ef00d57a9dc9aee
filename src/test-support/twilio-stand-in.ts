import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { twilioSignature } from '../channels/sms/inbound-sms.js';
import { LoopbackPeer } from './loopback-peer.js';
import { ReplyHold } from './reply-hold.js';

export interface SentSms {
  sid: string;
  createdAt: number;
  accountSid: string;
  authorization: string | undefined;
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string;
  /** Where the sender asked for the text's status reports (StatusCallback). */
  statusCallback: string | undefined;
}

/**
 * A local HTTP server speaking Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, Basic auth, and `GET` on it to list messages by `To` and `From`, newest first): it
 * records each message and answers as Twilio does, or with the failures a test queues
 * (`{ status: 400, code: 21610 }` for a recipient who replied STOP; `{ status: 201, dropAnswer: true }`
 * takes the message and closes the connection before answering).
 */
export class TwilioStandIn extends LoopbackPeer {
  readonly sent: SentSms[] = [];
  /** The number of every text asked for, on arrival: before any held reply, or a failure answered. */
  readonly asked: string[] = [];
  failures: Array<{ status: number; code?: number; message?: string; dropAnswer?: boolean }> = [];
  /** How many times messages were listed. */
  listings = 0;
  /** How many listings to answer 503 before answering again (a provider whose listing is down). */
  failedListings = 0;
  /** Characters of padding in each answer to a sent message (a provider answering far too much). */
  answerPadding = 0;
  /** The stand-in's time, for the messages' creation dates (a test's clock). */
  now: () => number = Date.now;
  /** How long a sent message waits before it is taken and answered (a slow provider). */
  replyDelayMs = 0;
  readonly #replies = new ReplyHold();

  /**
   * Holds every sent message, untaken and unanswered, until the function returned is called: a send
   * kept under way for as long as a test needs, however slow the machine.
   */
  holdReplies(): () => void {
    return this.#replies.hold();
  }
  /**
   * Reports what became of a sent text to its StatusCallback, as Twilio does: form-encoded, signed with
   * the account's auth token over the URL and parameters. Answers the status code it got back.
   */
  async reportStatus(
    sms: SentSms,
    status: string,
    options: { authToken: string; errorCode?: number },
  ): Promise<number> {
    if (!sms.statusCallback) throw new Error(`text ${sms.sid} asked for no status reports`);
    const params = new URLSearchParams({
      MessageSid: sms.sid,
      SmsSid: sms.sid,
      AccountSid: sms.accountSid,
      To: sms.to,
      MessageStatus: status,
      SmsStatus: status,
    });
    if (sms.from) params.set('From', sms.from);
    if (options.errorCode !== undefined) params.set('ErrorCode', String(options.errorCode));
    const response = await fetch(sms.statusCallback, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(options.authToken, sms.statusCallback, params),
      },
      body: params.toString(),
    });
    await response.arrayBuffer();
    return response.status;
  }

  protected readonly server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', async () => {
      if (request.method === 'POST' && this.replyDelayMs > 0)
        await new Promise((resolve) => setTimeout(resolve, this.replyDelayMs));
      if (request.method === 'POST') {
        this.asked.push(new URLSearchParams(raw).get('To') ?? '');
        await this.#replies.passed();
      }
      const address = new URL(request.url ?? '/', 'http://stand-in');
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(address.pathname);
      if (request.method === 'GET' && match) {
        this.listings += 1;
        if (this.failedListings > 0) {
          this.failedListings -= 1;
          response
            .writeHead(503, { 'content-type': 'application/json' })
            .end('{"code":20500,"message":"down"}');
          return;
        }
        const to = address.searchParams.get('To');
        const from = address.searchParams.get('From');
        const messages = this.sent
          .filter((sms) => (to === null || sms.to === to) && (from === null || sms.from === from))
          .reverse()
          .map((sms) => ({
            sid: sms.sid,
            to: sms.to,
            from: sms.from ?? null,
            messaging_service_sid: sms.messagingServiceSid ?? null,
            body: sms.body,
            date_created: new Date(sms.createdAt).toUTCString().replace('GMT', '+0000'),
          }));
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messages }));
        return;
      }
      if (request.method !== 'POST' || !match) {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"code":20404,"message":"not found"}');
        return;
      }
      const failure = this.failures.shift();
      if (failure && !failure.dropAnswer) {
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
      const sid = `SM${randomBytes(16).toString('hex')}`;
      this.sent.push({
        sid,
        createdAt: this.now(),
        accountSid: decodeURIComponent(match[1] ?? ''),
        authorization: request.headers.authorization,
        to: form.get('To') ?? '',
        from: form.get('From') ?? undefined,
        messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
        body: form.get('Body') ?? '',
        statusCallback: form.get('StatusCallback') ?? undefined,
      });
      if (failure?.dropAnswer) {
        request.socket.destroy();
        return;
      }
      response.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          sid,
          status: 'queued',
          to: form.get('To'),
          body: form.get('Body'),
          ...(this.answerPadding > 0 ? { padding: 'x'.repeat(this.answerPadding) } : {}),
        }),
      );
    });
  });
}
