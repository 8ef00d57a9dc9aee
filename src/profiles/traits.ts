import type { Traits, TraitTimes } from '../core/profile.js';

export interface TraitHolder {
  traits: Traits;
  traitTimes: TraitTimes;
}

/**
 * Writes each incoming trait unless the holder already has a value from a later event: per trait,
 * the newest timestamp wins, so events processed out of order still converge on the same traits.
 * Returns whether anything changed.
 */
export function mergeTraits(holder: TraitHolder, incoming: Traits, at: number): boolean {
  let changed = false;
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const heldAt = holder.traitTimes[name];
    if (heldAt !== undefined && heldAt > at) continue;
    holder.traits[name] = value;
    holder.traitTimes[name] = at;
    changed = true;
  }
  return changed;
}

/** Folds `from` into `into`, trait by trait, keeping whichever value was written later. */
export function mergeTraitHolders(into: TraitHolder, from: TraitHolder): void {
  for (const [name, value] of Object.entries(from.traits)) {
    const fromAt = from.traitTimes[name] ?? 0;
    const intoAt = into.traitTimes[name];
    if (intoAt !== undefined && intoAt >= fromAt) continue;
    into.traits[name] = value;
    into.traitTimes[name] = fromAt;
  }
}
