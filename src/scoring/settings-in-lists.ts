import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../core/errors.js';
import { inListLength, MAX_IN_LIST_VALUES, tooManyInListValues } from '../core/in-lists.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';

/**
 * Refuses settings whose `in` lists hold more than MAX_IN_LIST_VALUES values together in one score
 * model (its fit rules' and event rules' filters), in the lifecycle's event rules, or in the hand-off's
 * assignment rules, as a segment's rule may not: each value is compared for every event a contact is
 * scored on. Checked on saving, not in the schema stored settings are read through; a part stored
 * just as it is stays savable, so that one saved before this check blocks no other save.
 */
export function checkSettingsInLists(settings: WorkspaceSettings, previous: WorkspaceSettings): void {
  for (const [index, model] of settings.scoring.models.entries()) {
    const comparisons = model.rules.flatMap((rule) => (rule.kind === 'fit' ? [rule.when] : rule.where));
    const isStored = previous.scoring.models.some((stored) => isDeepStrictEqual(stored, model));
    if (!isStored) refuseOverLimit(comparisons, `scoring.models.${index}.rules`, 'score model');
  }
  const { lifecycle, handOff } = settings;
  if (lifecycle && !isDeepStrictEqual(lifecycle.rules, previous.lifecycle?.rules)) {
    const comparisons = lifecycle.rules.flatMap((rule) => (rule.kind === 'event' ? rule.where : []));
    refuseOverLimit(comparisons, 'lifecycle.rules', 'lifecycle');
  }
  if (handOff && !isDeepStrictEqual(handOff.assignment, previous.handOff?.assignment)) {
    const comparisons = handOff.assignment.map((rule) => rule.when);
    refuseOverLimit(comparisons, 'handOff.assignment', 'hand-off assignment');
  }
}

function refuseOverLimit(comparisons: unknown[], field: string, holder: string): void {
  let values = 0;
  for (const comparison of comparisons) values += inListLength(comparison);
  if (values > MAX_IN_LIST_VALUES)
    throw new AppError('invalid_input', `${field}: ${tooManyInListValues(holder)}`, { field });
}
