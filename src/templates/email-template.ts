import { convert as htmlToText } from 'html-to-text';
import type Mjml2Html from 'mjml';
import type { EmailTemplate } from '../core/journey.js';
import { renderHtml, renderPlain } from './liquid.js';

export interface RenderedEmail {
  subject: string;
  preheader: string;
  html: string;
  text: string;
}

/**
 * Where the contact stands with sales, for `{{ lifecycle.stage }}`, `{{ lifecycle.owner.name }}` and
 * `{{ lifecycle.scores.<model> }}`: read only for a message whose Liquid names `lifecycle`.
 */
export interface LifecycleData {
  stage: string | null;
  owner: { id: string; name: string; email: string | null } | null;
  scores: Record<string, number>;
}

/**
 * What templates see: `profile`, `event` (the entry event), `journey`, `message`, `unsubscribe_url`,
 * and `lifecycle` when the template names it; an e-mail's layout and text also `preheader`, which
 * `renderEmail` adds.
 */
export interface TemplateData {
  profile: { id: string; traits: Record<string, unknown> };
  lifecycle?: LifecycleData | undefined;
  event?: { name: string | null; properties: Record<string, unknown>; timestamp: number } | undefined;
  journey?: { id: string; name: string; version: number; step: string } | undefined;
  message?: { id: string } | undefined;
  unsubscribe_url?: string;
}

/**
 * MJML, loaded on first use: importing it takes 0.6 s of CPU on a quiet machine here (2 s on a busy
 * one), which every CLI command and every start of the server would otherwise pay before doing
 * anything (the server warms it up once it runs; a command that renders no e-mail never loads it).
 */
let mjmlLoading: Promise<typeof Mjml2Html> | undefined;
async function mjml2html(
  ...args: Parameters<typeof Mjml2Html>
): Promise<Awaited<ReturnType<typeof Mjml2Html>>> {
  mjmlLoading ??= import('mjml').then((module) => module.default);
  return (await mjmlLoading)(...args);
}

const compiled = new Map<string, Promise<string>>();
const MAX_COMPILED = 500;

/**
 * MJML is compiled once per template version, with its Liquid left in place; each recipient then
 * costs only a Liquid render. (Compiling MJML takes milliseconds; rendering Liquid, microseconds.)
 */
/** A template that makes MJML load every component it needs, compiled at start-up. */
export const WARM_UP_MJML =
  '<mjml><mj-head><mj-preview>.</mj-preview></mj-head><mj-body><mj-section><mj-column><mj-text>.</mj-text><mj-button href="https://example.com">.</mj-button><mj-image src="https://example.com/a.png" /></mj-column></mj-section></mj-body></mjml>';

export function compileLayout(template: Pick<EmailTemplate, 'id' | 'updatedAt' | 'mjml'>): Promise<string> {
  const key = `${template.id}:${template.updatedAt}:${template.mjml.length}`;
  let html = compiled.get(key);
  if (!html) {
    html = compileMjml(template.mjml);
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, html);
    html.catch(() => compiled.delete(key));
  }
  return html;
}

/**
 * MJML links its default font (Ubuntu) from Google Fonts into every e-mail that does not name
 * another: each open would tell Google who read what, which EU data-protection rulings forbid
 * without consent. Without the default map, only fonts a template declares (`<mj-font>`) are
 * fetched; text falls back to the stack's Helvetica and Arial.
 */
const NO_FONTS_FETCHED = {};

async function compileMjml(source: string): Promise<string> {
  const trimmed = source.trim();
  if (!trimmed.startsWith('<mjml')) {
    // Plain HTML is used as it is.
    return trimmed;
  }
  // `<mj-include>` would read the server's files into a member's e-mail: never followed.
  const result = await mjml2html(trimmed, {
    validationLevel: 'soft',
    keepComments: false,
    ignoreIncludes: true,
    fonts: NO_FONTS_FETCHED,
  });
  const errors = result.errors ?? [];
  if (errors.length > 0 && !result.html)
    throw new Error(`MJML: ${errors.map((e) => e.formattedMessage).join('; ')}`);
  return result.html;
}

/** Reports MJML and Liquid problems, for validating a template before it is saved. */
export async function checkTemplate(
  template: Pick<EmailTemplate, 'mjml' | 'subject' | 'preheader' | 'text'>,
): Promise<string[]> {
  const problems: string[] = [];
  const trimmed = template.mjml.trim();
  if (trimmed.startsWith('<mjml')) {
    try {
      const result = await mjml2html(trimmed, { validationLevel: 'soft', ignoreIncludes: true });
      for (const error of result.errors ?? []) problems.push(`mjml: ${error.formattedMessage}`);
    } catch (error) {
      problems.push(`mjml: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const sample: TemplateData = { profile: { id: 'prf_sample', traits: {} } };
  for (const [field, source] of [
    ['subject', template.subject],
    ['preheader', template.preheader ?? ''],
    ['mjml', template.mjml],
    ['text', template.text ?? ''],
  ] as const) {
    try {
      renderPlain(source, sample);
    } catch (error) {
      problems.push(`${field}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/**
 * Personalises a compiled template for one recipient. HTML output is escaped; subject and text are not
 * (they are not HTML). The rendered preheader is `{{ preheader }}` to the layout and the text; it is
 * put at the top of the body unless the layout places it itself, or the template has its own preview
 * text (`<mj-preview>`, gone from the compiled layout: a second one would show both).
 */
export function renderEmail(
  template: Pick<EmailTemplate, 'subject' | 'preheader' | 'text' | 'mjml'>,
  layout: string,
  data: TemplateData,
): RenderedEmail {
  const subject = renderPlain(template.subject, data).replace(/\s+/g, ' ').trim();
  const preheader = renderPlain(template.preheader ?? '', data).trim();
  const withPreheader = { ...data, preheader };
  let html = renderHtml(layout, withPreheader);
  if (preheader && !/\{\{-?\s*preheader\b/.test(layout) && !/<mj-preview\b/i.test(template.mjml))
    html = injectPreheader(html, preheader);
  const text = renderPlain(template.text ?? textLayout(layout), withPreheader);
  return { subject, preheader, html, text: withUnsubscribeLink(text, data.unsubscribe_url) };
}

/**
 * Every e-mail sent has an unsubscribe link in its HTML (the footer tracking adds when the template
 * has none); its plain-text part, all a text-only mail client shows, gets one too unless it has it.
 */
function withUnsubscribeLink(text: string, unsubscribeUrl: string | undefined): string {
  if (!unsubscribeUrl || text.includes(unsubscribeUrl)) return text;
  const line = `Unsubscribe: ${unsubscribeUrl}`;
  return text.trim() ? `${text.trimEnd()}\n\n${line}\n` : `${line}\n`;
}

const textLayouts = new Map<string, string>();
// Upper-casing headings would upper-case the Liquid in them too ({{ PROFILE.TRAITS.NAME }} finds nothing).
const TEXT_SELECTORS = [
  { selector: 'img', format: 'skip' },
  ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
];

/**
 * The plain-text part, when a template has none: the compiled layout turned to text once, its Liquid
 * kept, then rendered per recipient like the HTML (converting each recipient's HTML cost more than
 * everything else in rendering).
 */
function textLayout(layout: string): string {
  let text = textLayouts.get(layout);
  if (text === undefined) {
    text = htmlToText(layout, { wordwrap: false, selectors: TEXT_SELECTORS });
    if (textLayouts.size >= MAX_COMPILED) textLayouts.clear();
    textLayouts.set(layout, text);
  }
  return text;
}

/** The preview line mail clients show after the subject: hidden text at the top of the body. */
function injectPreheader(html: string, preheader: string): string {
  const hidden = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">${escapeHtml(preheader)}</div>`;
  return /<body[^>]*>/i.test(html)
    ? html.replace(/<body[^>]*>/i, (body) => `${body}${hidden}`)
    : hidden + html;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}
