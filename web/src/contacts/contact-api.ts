import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ConsentChannel, SuppressionReason } from '../../../src/core/topic-consent.js';
import { api, workspacePath } from '../app/api.js';
import type { ProfileScore, TimelineEvent, Traits } from './contact-format.js';
import { pageQuery } from './cursor-paging.js';

/** The shapes of src/server/routes (profile, segment, journey, messaging, scoring) the contact screens read. */

export interface Profile {
  id: string;
  userId: string | null;
  traits: Traits;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** A contact as the list shows it: with its lifecycle stage, its sales owner and its scores now. */
export interface Contact extends Profile {
  stage: string | null;
  owner: { id: string; name: string } | null;
  scores: Array<{ model: string; score: number }>;
}

export interface ProfileDetails extends Profile {
  identities: Array<{ kind: 'user' | 'anonymous'; value: string; createdAt: string }>;
  accounts: Array<{ id: string; groupId: string; traits: Traits; updatedAt: string }>;
}

export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SegmentMembership {
  segmentId: string;
  name: string;
  enteredAt: string;
}

export interface JourneyInstance {
  id: string;
  journeyId: string;
  version: number;
  status: 'active' | 'completed' | 'exited' | 'converted';
  stepId: string | null;
  enteredAt: string;
  endedAt: string | null;
  endReason: string | null;
  /** The A/B splits it took and the arm of each (null: held out). */
  splits: Array<{ stepId: string; arm: string | null }>;
}

export interface Message {
  id: string;
  journeyId: string | null;
  channel: string;
  toAddress: string | null;
  subject: string | null;
  status: 'queued' | 'deferred' | 'sending' | 'sent' | 'suppressed' | 'skipped' | 'failed';
  reason: string | null;
  createdAt: string;
  sentAt: string | null;
  openedAt: string | null;
  clickedAt: string | null;
  /** When the provider reported a text delivered (SMS delivery receipts). */
  deliveredAt: string | null;
  /** When the mail provider reported a bounce, or the SMS provider a text undelivered. */
  bouncedAt: string | null;
}

export interface StageChange {
  from: string | null;
  to: string;
  reason: string;
  at: string;
}

/** A hand-off of the contact to sales: who owns it, and whether sales accepted it in time. */
export interface HandOff {
  id: string;
  /** null while owed (`awaiting_identity`): the owner is assigned when the hand-off is made. */
  owner: string | null;
  status: 'awaiting_identity' | 'pending' | 'accepted' | 'passed' | 'breached' | 'recycled' | 'dropped';
  createdAt: string;
  /** null when the contact went past the hand-off stage at once, or it was never made: no SLA ran. */
  acceptBy: string | null;
  acceptedAt: string | null;
  breachedAt: string | null;
  /** When the contact reached the hand-off stage before sales could tell who it was. */
  owedAt: string | null;
  droppedReason: string | null;
}

export interface Intent {
  scores: ProfileScore[];
  stage: string | null;
  stageHistory: StageChange[];
  handOffs: HandOff[];
}

export const PAGE_SIZE = 25;

export function useContacts(
  workspaceId: string,
  /** `byScore`: a score model's id, to list highest score first (empty: newest first). */
  filter: { query: string; stage: string; byScore: string },
  cursor: string | undefined,
) {
  return useQuery({
    queryKey: ['profiles', workspaceId, filter.query, filter.stage, filter.byScore, cursor],
    queryFn: () =>
      api<CursorPage<Contact>>(
        'GET',
        workspacePath(
          workspaceId,
          `/profiles${pageQuery({
            q: filter.query,
            stage: filter.stage,
            byScore: filter.byScore,
            limit: PAGE_SIZE,
            cursor,
          })}`,
        ),
      ),
    placeholderData: keepPreviousData,
  });
}

/** One of the contact's lists, e.g. `/segments`, asked under `/profiles/{id}`. */
function useProfileRead<T>(workspaceId: string, profileId: string, rest: string) {
  return useQuery({
    queryKey: ['profile', workspaceId, profileId, rest],
    queryFn: () =>
      api<T>('GET', workspacePath(workspaceId, `/profiles/${encodeURIComponent(profileId)}${rest}`)),
  });
}

export function useProfile(workspaceId: string, profileId: string) {
  return useQuery({
    queryKey: ['profile', workspaceId, profileId, ''],
    queryFn: () =>
      api<ProfileDetails>('GET', workspacePath(workspaceId, `/profiles/${encodeURIComponent(profileId)}`)),
    // Structural sharing copies changed objects key by key, and assigning a trait named `__proto__`
    // sets the copy's prototype instead: a refetch after the traits changed would lose that trait.
    structuralSharing: false,
  });
}

export function useTimeline(workspaceId: string, profileId: string, cursor: string | undefined) {
  return useQuery({
    queryKey: ['profile', workspaceId, profileId, 'events', cursor],
    queryFn: () =>
      api<CursorPage<TimelineEvent>>(
        'GET',
        workspacePath(
          workspaceId,
          `/profiles/${encodeURIComponent(profileId)}/events${pageQuery({ limit: PAGE_SIZE, cursor })}`,
        ),
      ),
    placeholderData: keepPreviousData,
  });
}

export const useSegmentsOf = (workspaceId: string, profileId: string) =>
  useProfileRead<{ items: SegmentMembership[] }>(workspaceId, profileId, '/segments');

export const useJourneysOf = (workspaceId: string, profileId: string) =>
  useProfileRead<{ items: JourneyInstance[] }>(workspaceId, profileId, '/journeys');

export const useIntent = (workspaceId: string, profileId: string) =>
  useProfileRead<Intent>(workspaceId, profileId, '/intent');

export const useSubscriptions = (workspaceId: string, profileId: string) =>
  useProfileRead<{
    topics: Record<string, boolean>;
    channels: Record<ConsentChannel, Record<string, boolean>>;
    /** Why the profile's address on each channel is suppressed (it gets none of the topics it holds), or null. */
    suppressed: Record<ConsentChannel, SuppressionReason | null>;
    /** The address the suppression list knows the profile by on each channel, or null. */
    addresses: Record<ConsentChannel, string | null>;
  }>(workspaceId, profileId, '/subscriptions');

export function useMessagesOf(workspaceId: string, profileId: string, cursor: string | undefined) {
  return useQuery({
    queryKey: ['messages', workspaceId, profileId, cursor],
    queryFn: () =>
      api<CursorPage<Message>>(
        'GET',
        workspacePath(workspaceId, `/messages${pageQuery({ profileId, limit: PAGE_SIZE, cursor })}`),
      ),
    placeholderData: keepPreviousData,
  });
}

/** Journey names by id, for the contact's journey instances. */
export function useJourneyNames(workspaceId: string) {
  return useQuery({
    queryKey: ['journeys', workspaceId, 'names'],
    queryFn: async () =>
      (
        await api<{ items: Array<{ id: string; name: string }> }>(
          'GET',
          workspacePath(workspaceId, '/journeys'),
        )
      ).items,
    select: (items) => new Map(items.map((journey) => [journey.id, journey.name])),
  });
}
