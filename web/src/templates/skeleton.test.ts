import { describe, expect, it } from 'vitest';
import { SKELETON_MJML, skeletonTemplate } from './skeleton.js';

interface TemplateChecker {
  checkTemplate(template: {
    mjml: string;
    subject: string;
    preheader: string | null;
    text: string | null;
  }): Promise<string[]>;
}

describe('the skeleton a new template starts from', () => {
  it('is MJML and Liquid that the server accepts without a single warning', async () => {
    // The server's own checker, loaded by path: the console's types never depend on server code.
    const checkerPath = new URL('../../../src/templates/email-template.ts', import.meta.url).href;
    const { checkTemplate } = (await import(/* @vite-ignore */ checkerPath)) as TemplateChecker;
    const template = skeletonTemplate('  Welcome  ');
    expect(await checkTemplate(template)).toEqual([]);
    expect(template.name).toBe('Welcome');
  });

  it('greets the contact by name and offers a way to unsubscribe', () => {
    expect(SKELETON_MJML).toContain('{{ profile.traits.first_name');
    expect(SKELETON_MJML).toContain('{{ unsubscribe_url }}');
    expect(skeletonTemplate('x').subject).toContain('{{ profile.traits.first_name');
  });
});
