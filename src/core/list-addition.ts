/**
 * Contacts imported from a file added to a static segment once the event log has made them profiles:
 * the import's identify calls are resolved by the pipeline a little later, so the addition waits for
 * them (until every contact is found, or the pipeline has read everything, or MAX_WAIT passed) and
 * then adds those found, each with its Segment Entered.
 */
export interface ListAddition {
  id: string;
  workspaceId: string;
  segmentId: string;
  /** The contacts the import named, by user id, in the file's order. */
  userIds: string[];
  status: ListAdditionStatus;
  /** Contacts found as profiles, each once. */
  matched: number;
  /** Contacts no profile was found for (their calls failed in the pipeline, or were never resolved). */
  unmatched: number;
  /** Contacts that were not in the list yet. */
  added: number;
  requestedAt: number;
  finishedAt: number | null;
  /** Why it failed (the segment was deleted, or the same error at every attempt). */
  reason: string | null;
}

export const LIST_ADDITION_STATUSES = ['waiting', 'done', 'failed'] as const;
export type ListAdditionStatus = (typeof LIST_ADDITION_STATUSES)[number];
