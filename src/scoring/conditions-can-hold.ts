import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../core/errors.js';
import { type Comparing, neverHoldsBecause } from '../core/holdable-comparison.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';

/**
 * Refuses a fit rule, a filter of a score or lifecycle rule, or a hand-off assignment rule that could
 * never hold (`gt "pro"`, `in []`, a path `a..b`, a filter's `properties.total`): no contact would
 * ever get its points, move stage or go to that owner, without a word. Checked on saving, not in the schemas stored settings are read
 * through; and a condition already stored just as it is stays savable, so that a setting saved before
 * this check neither stops reading nor blocks saving the rest.
 */
export function checkConditionsCanHold(settings: WorkspaceSettings, previous: WorkspaceSettings): void {
  let stored: Comparing[] | undefined;
  for (const { field, condition, isEventFilter } of comparisonsOf(settings)) {
    const problem = neverHoldsBecause(condition, { isEventFilter });
    if (!problem) continue;
    stored ??= Array.from(comparisonsOf(previous), (found) => found.condition);
    if (stored.some((before) => isDeepStrictEqual(before, condition))) continue;
    const fieldPath = `${field}.${problem.field}`;
    throw new AppError('invalid_input', `${fieldPath}: ${problem.message}`, {
      field: fieldPath,
      issue: problem.reason && { code: 'refused', reason: problem.reason },
    });
  }
}

/**
 * Every comparison the intent settings hold, with the field it is at (`scoring.models.0.rules.2.when`)
 * and whether it filters an event (its path read inside the event's properties).
 */
function* comparisonsOf(
  settings: WorkspaceSettings,
): Generator<{ field: string; condition: Comparing; isEventFilter: boolean }> {
  for (const [modelIndex, model] of settings.scoring.models.entries())
    for (const [ruleIndex, rule] of model.rules.entries()) {
      const field = `scoring.models.${modelIndex}.rules.${ruleIndex}`;
      if (rule.kind === 'fit') yield { field: `${field}.when`, condition: rule.when, isEventFilter: false };
      else
        for (const [index, filter] of rule.where.entries())
          yield { field: `${field}.where.${index}`, condition: filter, isEventFilter: true };
    }
  for (const [ruleIndex, rule] of (settings.lifecycle?.rules ?? []).entries())
    if (rule.kind === 'event')
      for (const [index, filter] of rule.where.entries())
        yield {
          field: `lifecycle.rules.${ruleIndex}.where.${index}`,
          condition: filter,
          isEventFilter: true,
        };
  for (const [index, rule] of (settings.handOff?.assignment ?? []).entries())
    yield { field: `handOff.assignment.${index}.when`, condition: rule.when, isEventFilter: false };
}
