/**
 * A journey entered on a segment, published to take the segment's current members too: they enter
 * as if they had just entered the segment, in pages that each commit with the position reached, so
 * progress shows and a restart resumes after the last page. Members who entered the segment after the
 * publish are left to their own `Segment Entered`.
 */
export interface MemberEntry {
  id: string;
  workspaceId: string;
  journeyId: string;
  segmentId: string;
  status: MemberEntryStatus;
  /** The last profile (by id) done: the next page starts after it. */
  afterProfile: string | null;
  /** Members when it was requested: how far it has to go, as an estimate. */
  membersTotal: number;
  membersDone: number;
  /** Members the journey took (its re-entry rules may refuse some). */
  entered: number;
  requestedAt: number;
  finishedAt: number | null;
  /** Why it stopped before the end (`cancelled`: a version without it was published; `failed`: the error). */
  reason: string | null;
}

export const MEMBER_ENTRY_STATUSES = ['running', 'done', 'cancelled', 'failed'] as const;
export type MemberEntryStatus = (typeof MEMBER_ENTRY_STATUSES)[number];
