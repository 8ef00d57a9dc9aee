import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { EmailTemplate } from '../core/journey.js';
import type { Storage } from '../storage/storage.js';
import { checkTemplate } from './email-template.js';

export { compileLayout, renderEmail } from './email-template.js';

export interface TemplateInput {
  name: string;
  subject: string;
  preheader?: string | null | undefined;
  mjml: string;
  text?: string | null | undefined;
}

/** Throws when the template's MJML or Liquid does not compile; the error names the field. */
async function assertValid(template: TemplateInput): Promise<void> {
  const [problem] = await checkTemplate({
    mjml: template.mjml,
    subject: template.subject,
    preheader: template.preheader ?? null,
    text: template.text ?? null,
  });
  if (problem) throw new AppError('invalid_input', problem, { field: problem.split(':')[0] ?? 'mjml' });
}

/** Creates or replaces a template after checking its MJML and Liquid; the error names the field. */
export async function saveTemplate(
  storage: Storage,
  clock: Clock,
  input: { workspaceId: string; id?: string; template: TemplateInput },
): Promise<EmailTemplate> {
  await assertValid(input.template);
  const now = clock.now();
  const existing = input.id ? await storage.templates.find(input.workspaceId, input.id) : undefined;
  if (input.id && !existing) throw new AppError('not_found', `template ${input.id} does not exist`);
  const template = unsavedTemplate(input.workspaceId, input.template, now, existing);
  await storage.templates.upsert(template);
  return template;
}

/** A template being edited, checked, as it would be saved: for previews of what is not saved yet. */
export async function draftTemplate(
  workspaceId: string,
  input: TemplateInput,
  now: number,
): Promise<EmailTemplate> {
  await assertValid(input);
  return unsavedTemplate(workspaceId, input, now, undefined);
}

function unsavedTemplate(
  workspaceId: string,
  input: TemplateInput,
  now: number,
  existing: EmailTemplate | undefined,
): EmailTemplate {
  return {
    id: existing?.id ?? newId('tpl', now),
    workspaceId,
    name: input.name,
    subject: input.subject,
    preheader: input.preheader ?? null,
    mjml: input.mjml,
    text: input.text ?? null,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
}

export async function getTemplate(storage: Storage, workspaceId: string, id: string): Promise<EmailTemplate> {
  const template = await storage.templates.find(workspaceId, id);
  if (!template) throw new AppError('not_found', `template ${id} does not exist`);
  return template;
}
