import { escapeHtml } from '../../templates/email-template.js';
import { linkedSites, siteOf } from '../sms/short-links.js';
import type { LinkSigner } from './signed-links.js';

export interface TrackedLinks {
  openUrl: string;
  unsubscribeUrl: string;
  clickUrl: (target: string) => string;
}

export function trackedLinks(signer: LinkSigner, publicUrl: string, messageId: string): TrackedLinks {
  return {
    openUrl: `${publicUrl}/t/o/${signer.sign('open', { m: messageId })}.gif`,
    unsubscribeUrl: `${publicUrl}/u/${signer.sign('unsubscribe', { m: messageId })}`,
    clickUrl: (target) => `${publicUrl}/t/c/${signer.sign('click', { m: messageId, u: target })}`,
  };
}

/**
 * Rewrites http(s) links for click tracking (not the unsubscribe link, mailto: or anchors), adds the
 * open pixel, and adds an unsubscribe footer when the template has no unsubscribe link of its own.
 * Only links to `sites` (those the template links to as written) are tracked: a link a contact's
 * data brought in (a trait sent as `https://evil.example`) goes out as it is, never as a signed
 * redirect under the brand's own address.
 */
export function addTracking(html: string, links: TrackedLinks, sites: ReadonlySet<string>): string {
  let tracked = html.replace(
    /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi,
    (match, prefix: string, quote: string, url: string) => {
      const target = decodeEntities(url);
      if (target === links.unsubscribeUrl || !sites.has(siteOf(target) ?? '')) return match;
      return `${prefix}${quote}${escapeHtml(links.clickUrl(target))}${quote}`;
    },
  );
  if (!html.includes(escapeHtml(links.unsubscribeUrl)) && !html.includes(links.unsubscribeUrl)) {
    const footer = `<p style="font-size:12px;color:#666;text-align:center;margin:24px 0">Don't want these e-mails? <a href="${escapeHtml(links.unsubscribeUrl)}" style="color:#666">Unsubscribe</a>.</p>`;
    tracked = insertBeforeBodyEnd(tracked, footer);
  }
  const pixel = `<img src="${escapeHtml(links.openUrl)}" width="1" height="1" alt="" style="display:block;height:1px;width:1px;border:0" />`;
  return insertBeforeBodyEnd(tracked, pixel);
}

const sitesByLayout = new Map<string, Set<string>>();
const MAX_LAYOUTS = 500;

/**
 * The sites a compiled layout links to as the template was written (Liquid still in it), as an SMS
 * step's text names them (see `linkedSites`). Kept per layout, as layouts are per template version.
 */
export function layoutSites(layout: string): Set<string> {
  let sites = sitesByLayout.get(layout);
  if (!sites) {
    sites = linkedSites(layout);
    if (sitesByLayout.size >= MAX_LAYOUTS) sitesByLayout.clear();
    sitesByLayout.set(layout, sites);
  }
  return sites;
}

function insertBeforeBodyEnd(html: string, fragment: string): string {
  const index = html.search(/<\/body>/i);
  return index === -1 ? html + fragment : html.slice(0, index) + fragment + html.slice(index);
}

/** The named references escaping writes (ours, Liquid's and MJML's); others are left as written. */
const NAMED_REFERENCES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };
const CHARACTER_REFERENCE = /&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|(amp|quot|apos|lt|gt);)/g;
/** What HTML reads `&#128;`…`&#159;` as (Windows-1252); the code points it leaves undefined stay. */
const WINDOWS_1252 = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8DŽ\x8F\x90‘’“”•–—˜™š›œ\x9DžŸ';

/**
 * An attribute's value as a browser reads it: Liquid's `escape` writes `"` as `&#34;` and `'` as
 * `&#39;`, and a template may write any character by its number (`&#x2F;`). One pass, so that
 * `&amp;#34;` stays the text `&#34;`.
 */
function decodeEntities(value: string): string {
  return value.replace(CHARACTER_REFERENCE, (_match, hex?: string, decimal?: string, name?: string) =>
    name
      ? (NAMED_REFERENCES[name] as string)
      : characterOf(Number.parseInt(hex ?? (decimal as string), hex ? 16 : 10)),
  );
}

/** A numeric reference's character, as HTML decodes it (`&#0;`, a surrogate or past Unicode: U+FFFD). */
function characterOf(code: number): string {
  if (code >= 0x80 && code <= 0x9f) return WINDOWS_1252[code - 0x80] as string;
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\uFFFD';
  return String.fromCodePoint(code);
}
