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

/** Creates or replaces a template after checking its MJML and Liquid; the error names the field. */
export async function saveTemplate(
  storage: Storage,
  clock: Clock,
  input: { workspaceId: string; id?: string; template: TemplateInput },
): Promise<EmailTemplate> {
  const problems = await checkTemplate({
    mjml: input.template.mjml,
    subject: input.template.subject,
    preheader: input.template.preheader ?? null,
    text: input.template.text ?? null,
  });
  const [problem] = problems;
  if (problem) {
    const field = problem.split(':')[0] ?? 'mjml';
    throw new AppError('invalid_input', problem, { field });
  }
  const now = clock.now();
  const existing = input.id ? await storage.templates.find(input.workspaceId, input.id) : undefined;
  if (input.id && !existing) throw new AppError('not_found', `template ${input.id} does not exist`);
  const template: EmailTemplate = {
    id: existing?.id ?? newId('tpl', now),
    workspaceId: input.workspaceId,
    name: input.template.name,
    subject: input.template.subject,
    preheader: input.template.preheader ?? null,
    mjml: input.template.mjml,
    text: input.template.text ?? null,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await storage.templates.upsert(template);
  return template;
}

export async function getTemplate(storage: Storage, workspaceId: string, id: string): Promise<EmailTemplate> {
  const template = await storage.templates.find(workspaceId, id);
  if (!template) throw new AppError('not_found', `template ${id} does not exist`);
  return template;
}
