/** A template as the API returns it. */
export interface TemplateJson {
  id: string;
  name: string;
  subject: string;
  preheader: string | null;
  mjml: string;
  text: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What the editor's fields hold: every part a string, empty when left out. */
export interface Draft {
  name: string;
  subject: string;
  preheader: string;
  mjml: string;
  text: string;
}

export type DraftField = keyof Draft;
export const DRAFT_FIELDS: readonly DraftField[] = ['name', 'subject', 'preheader', 'mjml', 'text'];

/** The body of `POST/PUT …/templates`. */
export interface TemplateBody {
  name: string;
  subject: string;
  preheader: string | null;
  mjml: string;
  text: string | null;
}

export function draftOf(template: TemplateJson): Draft {
  return {
    name: template.name,
    subject: template.subject,
    preheader: template.preheader ?? '',
    mjml: template.mjml,
    text: template.text ?? '',
  };
}

/**
 * Empty optional parts are sent as null: an empty plain-text part would be sent as it is (an empty
 * text body), whereas null lets the server generate it from the HTML.
 */
export function bodyOf(draft: Draft): TemplateBody {
  return {
    name: draft.name.trim(),
    subject: draft.subject,
    preheader: draft.preheader.trim() ? draft.preheader : null,
    mjml: draft.mjml,
    text: draft.text.trim() ? draft.text : null,
  };
}

export function isSameDraft(a: Draft, b: Draft): boolean {
  return DRAFT_FIELDS.every((field) => a[field] === b[field]);
}

export type FieldErrors = Partial<Record<DraftField, string>>;

/** The fields the server requires, checked before saving; returns the empty ones. */
export function missingFields(draft: Draft, required: string): FieldErrors {
  const errors: FieldErrors = {};
  if (!draft.name.trim()) errors.name = required;
  if (!draft.subject.trim()) errors.subject = required;
  if (!draft.mjml.trim()) errors.mjml = required;
  return errors;
}

/**
 * The editor field a server error names: `subject` from a save, `template.subject` from a preview
 * (where the template is nested in the body). Undefined when it is not one of the template's fields.
 */
export function draftFieldOf(field: string | undefined): DraftField | undefined {
  const name = field?.replace(/^template\./, '').split('.')[0];
  return DRAFT_FIELDS.find((candidate) => candidate === name);
}

/** Entry-event properties typed as JSON: an object, or the reason it is not one. */
export function parseProperties(
  source: string,
): { properties: Record<string, unknown> } | { problem: 'notJson' | 'notObject' } {
  if (!source.trim()) return { properties: {} };
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    return { problem: 'notJson' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'notObject' };
  return { properties: value as Record<string, unknown> };
}

export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
