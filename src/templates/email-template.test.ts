import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileLayout, renderEmail } from './email-template.js';

const template = {
  id: 'tpl_1',
  updatedAt: 1,
  subject: 'Hi {{ profile.traits.name }}',
  preheader: 'For {{ profile.traits.name }}',
  text: null,
  mjml: `<mjml><mj-body><mj-section><mj-column>
    <mj-text><h1>Hello {{ profile.traits.name }}</h1><p>Total: {{ event.properties.total }}</p></mj-text>
  </mj-column></mj-section></mj-body></mjml>`,
};

describe('renderEmail', () => {
  it('compiles MJML once and personalises HTML, preheader and a generated text part', async () => {
    const layout = await compileLayout(template);
    expect(await compileLayout(template)).toBe(layout);
    const data = {
      profile: { id: 'p', traits: { name: 'Zoë <b>' } },
      event: { name: 'E', timestamp: 0, properties: { total: 42 } },
    };
    const rendered = renderEmail(template, layout, data);
    expect(rendered.subject).toBe('Hi Zoë <b>');
    expect(rendered.html).toContain('Hello Zoë &lt;b&gt;');
    expect(rendered.html).toContain('For Zoë &lt;b&gt;');
    expect(rendered.text).toContain('Hello Zoë <b>');
    expect(rendered.text).toContain('Total: 42');
  });

  it('writes the preheader where the layout names `{{ preheader }}`, and nowhere else', async () => {
    const placed = {
      ...template,
      id: 'tpl_preheader_placed',
      mjml: `<mjml><mj-body><mj-raw><span class="preheader">{{ preheader }}</span></mj-raw>
        <mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>`,
    };
    const rendered = renderEmail(placed, await compileLayout(placed), {
      profile: { id: 'p', traits: { name: 'Zoë <b>' } },
    });
    expect(rendered.html).toContain('<span class="preheader">For Zoë &lt;b&gt;</span>');
    expect(rendered.html.split('For Zoë')).toHaveLength(2);
  });

  it('adds no preheader to a template with its own <mj-preview>', async () => {
    const previewed = {
      ...template,
      id: 'tpl_own_preview',
      mjml: `<mjml><mj-head><mj-preview>Spring sale inside</mj-preview></mj-head>
        <mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>`,
    };
    const rendered = renderEmail(previewed, await compileLayout(previewed), {
      profile: { id: 'p', traits: { name: 'Zoë' } },
    });
    expect(rendered.html).toContain('Spring sale inside');
    expect(rendered.html).not.toContain('For Zoë');
  });

  it('links no font from Google into an e-mail, only those a template declares itself', async () => {
    const plain = await compileLayout({ ...template, id: 'tpl_default_font' });
    expect(plain).not.toContain('fonts.googleapis.com');
    expect(plain).toContain('Helvetica');
    const declared = await compileLayout({
      ...template,
      id: 'tpl_own_font',
      mjml: `<mjml><mj-head><mj-font name="Raleway" href="https://fonts.example.com/raleway.css" /></mj-head>
        <mj-body><mj-section><mj-column><mj-text font-family="Raleway, Arial">Hi</mj-text></mj-column></mj-section></mj-body></mjml>`,
    });
    expect(declared).toContain('https://fonts.example.com/raleway.css');
  });

  it('never reads a file an <mj-include> names into the e-mail', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'mops-mjml-'));
    const secret = path.join(directory, 'secret.mjml');
    writeFileSync(secret, '<mj-text>the signing secret</mj-text>');
    try {
      const layout = await compileLayout({
        ...template,
        id: 'tpl_include',
        mjml: `<mjml><mj-body><mj-include path="${secret}" /><mj-include path="${secret}" type="html" />
          <mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>`,
      });
      const rendered = renderEmail(template, layout, { profile: { id: 'p', traits: {} } });
      expect(rendered.html).toContain('Hi');
      expect(rendered.html).not.toContain('signing secret');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
