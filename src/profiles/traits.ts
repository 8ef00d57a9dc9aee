import { isDeepStrictEqual } from 'node:util';
import type { SegmentPayload } from '../core/event.js';
import type { Traits, TraitTimes } from '../core/profile.js';

export interface TraitHolder {
  traits: Traits;
  traitTimes: TraitTimes;
}

export interface TraitWrite {
  trait: string;
  value: unknown;
  /** The value before, undefined when the trait was not set. */
  previous: unknown;
}

/**
 * Writes each incoming trait unless the holder already has a value from a later event: per trait,
 * the newest timestamp wins, so events processed out of order still converge on the same traits.
 * Returns the traits whose value changed.
 */
export function mergeTraits(holder: TraitHolder, incoming: Traits, at: number): TraitWrite[] {
  const changed: TraitWrite[] = [];
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const heldAt = ownValue(holder.traitTimes, name);
    if (heldAt !== undefined && heldAt > at) continue;
    const previous = ownValue<unknown>(holder.traits, name);
    setOwn<unknown>(holder.traits, name, value);
    setOwn(holder.traitTimes, name, at);
    if (!isSameValue(previous, value)) changed.push({ trait: name, value, previous });
  }
  return changed;
}

/**
 * A trait's value, only if the profile holds it: a trait named `constructor` or `toString` is not
 * the function every object inherits by that name (which no column stores).
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Sets a trait as the object's own, whatever its name: `__proto__` too is a trait, not the prototype. */
export function setOwn<T>(record: Record<string, T>, name: string, value: T): void {
  // Only `__proto__` is a setter on a plain object; plain assignment is the cheaper write for the rest.
  if (name === '__proto__')
    Object.defineProperty(record, name, { value, writable: true, enumerable: true, configurable: true });
  else record[name] = value;
}

/** Objects compare by value whatever their keys' order: PostgreSQL's jsonb hands them back reordered. */
function isSameValue(a: unknown, b: unknown): boolean {
  return a === b || isDeepStrictEqual(a, b);
}

/** Folds `from` into `into`, trait by trait, keeping whichever value was written later. */
export function mergeTraitHolders(into: TraitHolder, from: TraitHolder): void {
  for (const [name, value] of Object.entries(from.traits)) {
    const fromAt = ownValue(from.traitTimes, name) ?? 0;
    const intoAt = ownValue(into.traitTimes, name);
    if (intoAt !== undefined && intoAt >= fromAt) continue;
    setOwn(into.traits, name, value);
    setOwn(into.traitTimes, name, fromAt);
  }
}

/**
 * An identify call's traits. RudderStack's JS, Android and iOS SDKs send them only in
 * `context.traits`: those are taken under the call's own, which win.
 */
export function identifyTraits(payload: SegmentPayload): Traits {
  const context = payload.context;
  const contextTraits =
    context !== null && typeof context === 'object' && !Array.isArray(context)
      ? (context as Record<string, unknown>).traits
      : undefined;
  return { ...asTraits(contextTraits), ...asTraits(payload.traits) };
}

function asTraits(value: unknown): Traits {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Traits) : {};
}
