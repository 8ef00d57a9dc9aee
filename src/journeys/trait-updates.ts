import { setOwn } from '../profiles/traits.js';
import { renderPlain } from '../templates/liquid.js';

/**
 * The values an `update_traits` step sets, its Liquid rendered against the profile as it stands, each
 * trait seeing those set before it in the step. The engine writes them; the executor shows them to
 * the branches that follow in the same move.
 */
export function renderTraitValues(
  set: Record<string, unknown>,
  profile: { id: string; traits: Record<string, unknown> },
  entryEvent: unknown,
): Record<string, unknown> {
  const traits = { ...profile.traits };
  const values: Record<string, unknown> = {};
  for (const [trait, raw] of Object.entries(set)) {
    const value =
      typeof raw === 'string'
        ? renderPlain(raw, { profile: { id: profile.id, traits }, event: entryEvent })
        : raw;
    setOwn(traits, trait, value);
    setOwn(values, trait, value);
  }
  return values;
}
