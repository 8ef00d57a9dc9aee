import { payloadProperties } from './event.js';

export type Traits = Record<string, unknown>;

/**
 * Written on the profile when Mops itself changes its traits (a journey's update_traits step), with
 * the new values: the profile's timeline tells why, and segments on traits are decided again.
 */
export const TRAITS_UPDATED = 'Traits Updated';

/**
 * Whether a Traits Updated is the first event of a contact Mops made itself (one texting from a number
 * no contact holds), with `created: true`: what reads it decides the contact as new, as it would one a
 * client's first event made.
 */
export function isContactMadeByMops(event: {
  name: string | null;
  origin?: 'mops';
  payload: Record<string, unknown>;
}): boolean {
  return (
    event.origin === 'mops' &&
    event.name === TRAITS_UPDATED &&
    payloadProperties(event.payload).created === true
  );
}
/** Per trait, the event timestamp (epoch ms) of the value currently held: the newest write wins. */
export type TraitTimes = Record<string, number>;

export type IdentityKind = 'user' | 'anonymous';

export interface Identity {
  id: number;
  workspaceId: string;
  kind: IdentityKind;
  value: string;
  profileId: string;
  createdAt: number;
}

export interface Profile {
  id: string;
  workspaceId: string;
  /** The profile's userId, when it is known; anonymous profiles have none. */
  userId: string | null;
  traits: Traits;
  traitTimes: TraitTimes;
  firstSeenAt: number;
  lastSeenAt: number;
  createdAt: number;
  updatedAt: number;
  /** Set when this profile was merged into another; reads follow it to the survivor. */
  mergedInto: string | null;
  /** How many times the profile was written: a write goes only over the revision it was decided from. */
  revision: number;
}

/** A profile with no data, for a preview or test send personalised for no one in particular. */
export function standInProfile(workspaceId: string): Profile {
  return {
    id: 'prf_preview',
    workspaceId,
    userId: null,
    traits: {},
    traitTimes: {},
    firstSeenAt: 0,
    lastSeenAt: 0,
    createdAt: 0,
    updatedAt: 0,
    mergedInto: null,
    revision: 0,
  };
}

export interface Account {
  id: string;
  workspaceId: string;
  groupId: string;
  traits: Traits;
  traitTimes: TraitTimes;
  createdAt: number;
  updatedAt: number;
}
