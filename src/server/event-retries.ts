import { JOURNEYS_CURSOR } from '../journeys/journeys.js';
import type { EventRetry } from '../pipeline/redrive.js';
import { PROFILES_CURSOR } from '../profiles/profiles.js';
import { rescoreEvent, SCORING_CURSOR } from '../scoring/scoring.js';
import { redecideProfileOfEvent, SEGMENTS_CURSOR } from '../segments/segments.js';

/**
 * Per consumer of the event log, whether an event it set aside can be redone now, out of log order,
 * and how (docs/ARCHITECTURE.md, "Set aside", says why for each).
 */
export function eventRetries(announce: { onMessagesQueued: () => void }): Record<string, EventRetry> {
  return {
    [SCORING_CURSOR]: {
      async redo(tx, event, now) {
        const work = await rescoreEvent(tx, event, now);
        return () => {
          if (work.queued > 0) announce.onMessagesQueued();
        };
      },
    },
    [SEGMENTS_CURSOR]: {
      async redo(tx, event, now) {
        await redecideProfileOfEvent(tx, event, now);
        // Segment Entered/Exited it wrote are in the log: the pipeline's poll finds them.
        return () => undefined;
      },
    },
    [PROFILES_CURSOR]: {
      refusal:
        'scoring, segments and journeys went on past this event before its contact was resolved, and would not see it again; resolving it now (a new contact, a merge) would leave them deciding without it. Send the call again with a new messageId, then dismiss this',
    },
    [JOURNEYS_CURSOR]: {
      refusal:
        'journeys act on an event as it arrives (entering a journey, ending a wait for it, reaching a goal): redone now, it would enter the contact late, sending what the journey sends, or move an instance that has moved on since',
    },
  };
}
