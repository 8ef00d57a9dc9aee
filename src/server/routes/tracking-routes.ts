import type { FastifyInstance } from 'fastify';
import {
  type Append,
  clickTarget,
  recordClick,
  recordOpen,
  unsubscribe,
} from '../../channels/email/engagement.js';
import type { LinkSigner } from '../../channels/email/signed-links.js';
import {
  asciiLink,
  followShortLink,
  isLinkPreview,
  shortLinkTarget,
} from '../../channels/sms/short-links.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { TRANSACTIONAL_TOPIC } from '../../core/topic-consent.js';
import type { Storage } from '../../storage/storage.js';
import { escapeHtml } from '../../templates/email-template.js';

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The links inside e-mails: open pixel, click redirect, unsubscribe page and RFC 8058 one-click
 * unsubscribe; and the short links of texts. Public (recipients have no key); every e-mail token is
 * HMAC-signed, and anything else is 400.
 */
export async function trackingRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; signer: LinkSigner; append: Append },
): Promise<void> {
  // The one-click unsubscribe is POSTed by mail providers as RFC 8058 has it (multipart/form-data), or
  // urlencoded, or as anything else: every body is taken (the POST below is the only route with one).
  // Only the page's own form, urlencoded, says anything in it that matters (`scope`).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) =>
    done(null, isUrlEncoded(request.headers['content-type']) ? body : ''),
  );

  app.get<{ Params: { token: string } }>(
    '/t/o/:token',
    { schema: { hide: true }, logLevel: 'warn' },
    async (request, reply) => {
      await recordOpen(deps, request.params.token.replace(/\.gif$/, ''));
      return reply
        .header('content-type', 'image/gif')
        .header('cache-control', 'no-store, max-age=0')
        .send(PIXEL);
    },
  );

  app.get<{ Params: { token: string } }>(
    '/t/c/:token',
    { schema: { hide: true }, logLevel: 'warn' },
    async (request, reply) => {
      // Link scanners (a mail provider's, a firewall's) send a HEAD before anyone has clicked:
      // answered the redirect, counted neither as a click nor as an open.
      const target =
        request.method === 'HEAD'
          ? await clickTarget(deps, request.params.token)
          : await recordClick(deps, request.params.token);
      // Signed as the template and the contact's data wrote it (`/caffè?q=São Paulo`), which the
      // Location header cannot carry (Node refuses it past Latin-1 and sends it as Latin-1 below).
      const location = asciiLink(target);
      if (!location) throw new AppError('invalid_input', 'this link is not valid');
      return reply.header('cache-control', 'no-store').redirect(location, 302);
    },
  );

  // A text's short link: random codes of the texts sent, nothing to sign. A messaging app fetching
  // the page for its preview (by its user agent), or a HEAD, is redirected without counting a click.
  app.get<{ Params: { code: string } }>(
    '/s/:code',
    { schema: { hide: true }, logLevel: 'warn' },
    async (request, reply) => {
      const isPreview = request.method === 'HEAD' || isLinkPreview(request.headers['user-agent']);
      const target = isPreview
        ? await shortLinkTarget(deps.storage, request.params.code)
        : await followShortLink(deps, request.params.code);
      return reply.header('cache-control', 'no-store').redirect(target, 302);
    },
  );

  app.get<{ Params: { token: string } }>('/u/:token', { schema: { hide: true } }, async (request, reply) => {
    const payload = deps.signer.verify<{ m: string }>('unsubscribe', request.params.token);
    if (!payload) throw new AppError('invalid_input', 'this unsubscribe link is not valid');
    const message = await deps.storage.messages.findById(payload.m);
    if (!message) throw new AppError('not_found', 'this unsubscribe link refers to no message');
    const topic = message.topic ?? 'marketing';
    const action = escapeHtml(request.url.split('?')[0] ?? '');
    // A receipt offers no way out of receipts (see `unsubscribe`).
    const topicButton =
      topic === TRANSACTIONAL_TOPIC
        ? ''
        : `<p><button type="submit" name="scope" value="topic">Unsubscribe from ${escapeHtml(topic)} e-mails</button></p>`;
    return reply.header('content-type', 'text/html; charset=utf-8').send(
      page(
        'Unsubscribe',
        `<form method="post" action="${action}">
            ${topicButton}
            <p><button type="submit" name="scope" value="everything">Unsubscribe from all e-mails</button></p>
          </form>
          <p>Receipts and other e-mails about what you buy from us still reach you.</p>`,
      ),
    );
  });

  // The one-click POST of RFC 8058 (body `List-Unsubscribe=One-Click`) leaves the message's topic (a
  // receipt's: everything else); the page's second button (`scope=everything`) leaves every e-mail but
  // transactional ones.
  app.post<{ Params: { token: string }; Body: unknown }>(
    '/u/:token',
    { schema: { hide: true } },
    async (request, reply) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const { topic, isTest, everything } = await unsubscribe(deps, {
        token: request.params.token,
        everything: form.get('scope') === 'everything',
      });
      const text = isTest
        ? 'This was a test e-mail: nothing was changed.'
        : everything
          ? 'You will not receive e-mails from us any more, except about what you buy.'
          : `You will not receive ${escapeHtml(topic)} e-mails from us any more.`;
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .send(page('Unsubscribed', `<p>${text}</p>`));
    },
  );
}

function isUrlEncoded(contentType: string | undefined): boolean {
  return /^\s*application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? '');
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1rem}</style></head><body><h1>${title}</h1>${body}</body></html>`;
}
