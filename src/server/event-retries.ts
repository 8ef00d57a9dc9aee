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
        'scoring, segments and journeys have read this event already, as the contacts stood without it (without the contact it would have created, or the merge it would have made); resolving it now would leave what they decided from it as it is. Send what it carried again (an identify with the traits, an alias), then dismiss it',
    },
    [JOURNEYS_CURSOR]: {
      refusal:
        'journeys act on an event as it arrives (entering a journey, ending a wait for it, reaching a goal): redone now, it would enter the contact late, sending what the journey sends, or move an instance that has moved on since',
    },
  };
}
