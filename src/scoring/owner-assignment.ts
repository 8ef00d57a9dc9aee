import type { HandOffSettings, SalesOwner } from '../core/hand-off.js';
import { isMember, traitFacts } from '../segments/evaluate.js';

/**
 * The owner of a profile handed to sales: the first assignment rule whose condition holds on the
 * profile's traits or its accounts' traits, else round-robin by `turn` (a counter the caller keeps per
 * workspace, taken atomically so that two workers never hand two leads the same turn).
 */
export function assignOwner(
  handOff: HandOffSettings,
  profile: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> },
  turn: number,
  now: number,
): { owner: SalesOwner; by: 'rule' | 'round_robin' } {
  const facts = traitFacts(profile.traits, profile.accounts);
  for (const rule of handOff.assignment) {
    const owner = handOff.owners.find((candidate) => candidate.id === rule.owner);
    if (owner && isMember(rule.when, facts, now)) return { owner, by: 'rule' };
  }
  const owners = handOff.owners;
  return {
    owner: owners[((turn % owners.length) + owners.length) % owners.length] as SalesOwner,
    by: 'round_robin',
  };
}
