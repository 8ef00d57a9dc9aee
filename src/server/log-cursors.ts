import { JOURNEYS_CURSOR } from '../journeys/engine.js';
import { PROFILES_CURSOR } from '../profiles/profiles.js';
import { SCORING_CURSOR } from '../scoring/scoring.js';
import { SEGMENTS_CURSOR } from '../segments/segments.js';

/** Every consumer of the event log, in the order they run (background.ts composes them). */
export const LOG_CURSORS = [PROFILES_CURSOR, SCORING_CURSOR, SEGMENTS_CURSOR, JOURNEYS_CURSOR] as const;
