import { describe, expect, it } from 'vitest';
import { choicesOf, columnsToSend, validateChoices } from './contact-import.js';

const PREVIEW = {
  rows: 2,
  idColumn: 'E-mail',
  columns: [
    { name: 'E-mail', trait: 'email', samples: ['a@example.com'] },
    { name: 'Notes', trait: 'notes', samples: ['hi'] },
  ],
};

describe('contact import form', () => {
  it('imports every column under its suggested trait, and sends a left-out one as null', () => {
    const choices = choicesOf(PREVIEW);
    expect(columnsToSend(choices)).toEqual({ 'E-mail': 'email', Notes: 'notes' });
    expect(
      columnsToSend(
        choices.map((choice) => (choice.column === 'Notes' ? { ...choice, isIncluded: false } : choice)),
      ),
    ).toEqual({ 'E-mail': 'email', Notes: null });
  });

  it('finds what the server would refuse at its field: no id column, an empty, dotted or repeated trait', () => {
    const choices = choicesOf(PREVIEW);
    expect(validateChoices('E-mail', choices)).toEqual({});
    expect(validateChoices('', choices)).toEqual({ idColumn: 'idColumnRequired' });
    const renamed = (trait: string) =>
      choices.map((choice) => (choice.column === 'Notes' ? { ...choice, trait } : choice));
    expect(validateChoices('E-mail', renamed(' '))).toEqual({ 'columns.Notes': 'traitRequired' });
    expect(validateChoices('E-mail', renamed('a.b'))).toEqual({ 'columns.Notes': 'traitDot' });
    expect(validateChoices('E-mail', renamed(' email '))).toEqual({ 'columns.Notes': 'traitTwice' });
    // A column left out names no trait.
    expect(
      validateChoices(
        'E-mail',
        renamed('').map((choice) => ({ ...choice, isIncluded: choice.column !== 'Notes' })),
      ),
    ).toEqual({});
  });
});
