import { describe, expect, it } from 'vitest';
import { isLinkPreview, linkedSites, linksIn, withShortLinksForCounting } from './short-links.js';

const urls = (text: string) => linksIn(text).map((link) => link.url);

describe('the links of a text', () => {
  it('ends a link where the sentence around it takes over', () => {
    expect(urls('Saldi: https://shop.example/sale. Info (https://shop.example/faq), ok?')).toEqual([
      'https://shop.example/sale',
      'https://shop.example/faq',
    ]);
    expect(urls('“https://x.it/saldi” e «https://x.it/b»; HTTP://X.IT/C!')).toEqual([
      'https://x.it/saldi',
      'https://x.it/b',
      'HTTP://X.IT/C',
    ]);
  });

  it('keeps what belongs to the link: an apostrophe inside, brackets it opened', () => {
    expect(
      urls(
        "Leggi https://it.wikipedia.org/wiki/L'Aquila o (https://it.wikipedia.org/wiki/Milano_(disambigua))",
      ),
    ).toEqual([
      "https://it.wikipedia.org/wiki/L'Aquila",
      'https://it.wikipedia.org/wiki/Milano_(disambigua)',
    ]);
    expect(urls("Vai su https://x.it/a'.")).toEqual(['https://x.it/a']);
    expect(urls(`https://a.example/${')'.repeat(30_000)}`)).toEqual(['https://a.example/']);
  });
});

describe('the links a text shortens', () => {
  it('are those to the sites the step’s own text links to, Liquid in the path and all', () => {
    const sites = linkedSites(
      'Ciao {{ name }}: https://shop.example/cart/{{ event.properties.id }} e {{ url }}',
    );
    expect([...sites]).toEqual(['https://shop.example']);
    expect(
      withShortLinksForCounting(
        'Ciao https://evil.example/login: https://shop.example/cart/42 e https://shop.example.evil.example/x',
        sites,
        'https://mops.example',
      ),
    ).toBe(
      'Ciao https://evil.example/login: https://mops.example/s/xxxxxxxxxx e https://shop.example.evil.example/x',
    );
  });
});

describe('a link preview', () => {
  it('is told by the user agents messaging apps fetch with, not a phone’s browser', () => {
    for (const agent of [
      'facebookexternalhit/1.1 Facebot Twitterbot/1.0',
      'WhatsApp/2.23.20.0',
      'TelegramBot (like TwitterBot)',
      'Mozilla/5.0 (compatible; Googlebot/2.1)',
    ])
      expect(isLinkPreview(agent)).toBe(true);
    expect(
      isLinkPreview(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      ),
    ).toBe(false);
    expect(isLinkPreview(undefined)).toBe(false);
  });
});
