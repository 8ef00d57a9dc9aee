import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../core/errors.js';
import { inListLength, MAX_IN_LIST_VALUES, tooManyInListValues } from '../core/in-lists.js';
import type { ScoreModel } from '../core/score-model.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';

/**
 * Refuses a score model whose `in` lists (its fit rules' and its event rules' filters) hold more than
 * MAX_IN_LIST_VALUES values together, as a segment's rule may not: each value is compared for every
 * event a contact is scored on. Checked on saving, not in the schema stored settings are read through;
 * a model stored just as it is stays savable, so that one saved before this check blocks no other save.
 */
export function checkModelInLists(settings: WorkspaceSettings, previous: WorkspaceSettings): void {
  for (const [index, model] of settings.scoring.models.entries()) {
    if (inListValuesOf(model) <= MAX_IN_LIST_VALUES) continue;
    if (previous.scoring.models.some((stored) => isDeepStrictEqual(stored, model))) continue;
    const field = `scoring.models.${index}.rules`;
    throw new AppError('invalid_input', `${field}: ${tooManyInListValues('score model')}`, { field });
  }
}

function inListValuesOf(model: ScoreModel): number {
  let values = 0;
  for (const rule of model.rules)
    for (const comparison of rule.kind === 'fit' ? [rule.when] : rule.where)
      values += inListLength(comparison);
  return values;
}
