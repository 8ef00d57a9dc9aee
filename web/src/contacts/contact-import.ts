import type { ContactImportSummary, ContactsFilePreview } from '../../../src/core/contact-import.js';

export type { ContactImportSummary, ContactsFilePreview } from '../../../src/core/contact-import.js';

/** Imported contacts joining a static list (`GET …/list-additions/:id`). */
export interface ListAdditionJson {
  id: string;
  segmentId: string;
  status: 'waiting' | 'done' | 'failed';
  contacts: number;
  matched: number;
  unmatched: number;
  added: number;
  reason: string | null;
}

/** What `POST …/profiles/import` answers. */
export type ContactImportResult = ContactImportSummary & { listAddition: ListAdditionJson | null };

/** One column of the file as the form maps it: imported as a trait of this name, or left out. */
export interface ColumnChoice {
  column: string;
  samples: string[];
  isIncluded: boolean;
  trait: string;
}

/** Every column imported, under the trait the server suggests. */
export function choicesOf(preview: ContactsFilePreview): ColumnChoice[] {
  return preview.columns.map((column) => ({
    column: column.name,
    samples: column.samples,
    isIncluded: true,
    trait: column.trait,
  }));
}

/** `columns` of the import request: each column's trait, or null for one left out. */
export function columnsToSend(choices: readonly ColumnChoice[]): Record<string, string | null> {
  return Object.fromEntries(
    choices.map((choice) => [choice.column, choice.isIncluded ? choice.trait.trim() : null]),
  );
}

export type ChoiceProblem = 'idColumnRequired' | 'traitRequired' | 'traitDot' | 'traitTwice';

/** What the server would refuse, by its field (`idColumn`, `columns.<column>`), before the file is sent. */
export function validateChoices(
  idColumn: string,
  choices: readonly ColumnChoice[],
): Record<string, ChoiceProblem> {
  const problems: Record<string, ChoiceProblem> = {};
  if (!idColumn) problems.idColumn = 'idColumnRequired';
  const taken = new Set<string>();
  for (const choice of choices) {
    if (!choice.isIncluded) continue;
    const trait = choice.trait.trim();
    const field = `columns.${choice.column}`;
    if (trait === '') problems[field] = 'traitRequired';
    else if (trait.includes('.')) problems[field] = 'traitDot';
    else if (taken.has(trait)) problems[field] = 'traitTwice';
    taken.add(trait);
  }
  return problems;
}
