import { describe, expect, it } from 'vitest';
import type { EmailTemplate } from '../../core/journey.js';
import { renderJob } from './email-channel.js';
import { LinkSigner } from './signed-links.js';

const signer = new LinkSigner('tracking-test-secret-tracking-test-secret');
const PUBLIC_URL = 'https://mops.brand.example';

const template: EmailTemplate = {
  id: 'tpl_links',
  workspaceId: 'ws_1',
  name: 'Links',
  subject: 'Hi',
  preheader: null,
  text: null,
  mjml: `<mjml><mj-body><mj-section><mj-column><mj-text>
    <a href="https://shop.example/cart/{{ event.properties.cart_id }}">your cart</a>
    <a href="{{ profile.traits.website }}">your site</a>
    <a href="https://{{ profile.traits.host }}/offer">an offer</a>
  </mj-text></mj-column></mj-section></mj-body></mjml>`,
  createdAt: 0,
  updatedAt: 0,
};

/** The targets the e-mail's click links redirect to, as signed. */
const signedTargets = (html: string) =>
  [...html.matchAll(/https:\/\/mops\.brand\.example\/t\/c\/([^"']+)/g)].map(
    ([, token]) => (signer.verify('click', token as string) as { u: string } | undefined)?.u,
  );

describe('click tracking', () => {
  it('tracks links to the sites the template links to, never one a contact’s data brought in', async () => {
    const rendered = await renderJob(
      { signer, publicUrl: PUBLIC_URL },
      {
        messageId: 'msg_1',
        template,
        data: {
          profile: { id: 'prf_1', traits: { website: 'https://evil.example/phish', host: 'evil.example' } },
          event: { name: 'Cart Abandoned', timestamp: 0, properties: { cart_id: 'c42' } },
        },
      },
    );
    expect(signedTargets(rendered.html)).toEqual(['https://shop.example/cart/c42']);
    // The others go out as written: no redirect under the brand's address to them.
    expect(rendered.html).toContain('href="https://evil.example/phish"');
    expect(rendered.html).toContain('href="https://evil.example/offer"');
  });

  it('signs a link as a browser reads its href: numeric references decoded, each only once', async () => {
    const rendered = await renderJob(
      { signer, publicUrl: PUBLIC_URL },
      {
        messageId: 'msg_2',
        template: {
          ...template,
          mjml: `<mjml><mj-body><mj-section><mj-column><mj-text>
            <a href="https://shop.example/a&#x2F;b?q=&amp;#34;&amp;r=&#39;{{ profile.traits.n }}">shop</a>
          </mj-text></mj-column></mj-section></mj-body></mjml>`,
        },
        data: { profile: { id: 'prf_1', traits: { n: 'Tom & "Jerry"' } } },
      },
    );
    expect(signedTargets(rendered.html)).toEqual(['https://shop.example/a/b?q=&#34;&r=\'Tom & "Jerry"']);
  });
});
