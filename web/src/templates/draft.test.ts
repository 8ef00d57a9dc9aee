import { describe, expect, it } from 'vitest';
import { bodyOf, draftFieldOf, draftOf, isSameDraft, missingFields, parseProperties } from './draft.js';

const template = {
  id: 'tpl_1',
  name: 'Welcome',
  subject: 'Hi {{ profile.traits.first_name }}',
  preheader: null,
  mjml: '<mjml><mj-body></mj-body></mjml>',
  text: null,
  createdAt: '2026-11-29T10:00:00.000Z',
  updatedAt: '2026-11-29T10:00:00.000Z',
};

describe('template drafts', () => {
  it('sends empty optional parts as null, so the server generates the plain text from the HTML', () => {
    const draft = { ...draftOf(template), name: '  Welcome  ', text: '   ' };
    expect(bodyOf(draft)).toEqual({
      name: 'Welcome',
      subject: template.subject,
      preheader: null,
      mjml: template.mjml,
      text: null,
    });
    expect(bodyOf({ ...draft, preheader: 'Inside: a gift', text: 'Hello' })).toMatchObject({
      preheader: 'Inside: a gift',
      text: 'Hello',
    });
  });

  it('sees a draft as unchanged until a field differs from the saved template', () => {
    const draft = draftOf(template);
    expect(isSameDraft(draft, draftOf(template))).toBe(true);
    expect(isSameDraft({ ...draft, mjml: `${draft.mjml} ` }, draftOf(template))).toBe(false);
  });

  it('requires a name, a subject and a source before saving', () => {
    expect(missingFields({ ...draftOf(template), name: ' ', subject: '', mjml: '\n' }, 'Required')).toEqual({
      name: 'Required',
      subject: 'Required',
      mjml: 'Required',
    });
    expect(missingFields(draftOf(template), 'Required')).toEqual({});
  });

  it('maps the field a save or a preview blamed to the editor field', () => {
    expect(draftFieldOf('subject')).toBe('subject');
    expect(draftFieldOf('template.mjml')).toBe('mjml');
    expect(draftFieldOf('profileId')).toBeUndefined();
    expect(draftFieldOf('body')).toBeUndefined();
    expect(draftFieldOf(undefined)).toBeUndefined();
  });

  it('accepts entry-event properties only as a JSON object', () => {
    expect(parseProperties('')).toEqual({ properties: {} });
    expect(parseProperties('{"cart_id": "c_1"}')).toEqual({ properties: { cart_id: 'c_1' } });
    expect(parseProperties('{"cart_id": ')).toEqual({ problem: 'notJson' });
    expect(parseProperties('[1, 2]')).toEqual({ problem: 'notObject' });
    expect(parseProperties('null')).toEqual({ problem: 'notObject' });
  });
});
