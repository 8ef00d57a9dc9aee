import { describe, expect, it } from 'vitest';
import { SegmentCondition } from '../core/segment-definition.js';
import {
  type EventFact,
  isMember,
  matchingFrom,
  nextMembershipChange,
  type ProfileFacts,
} from './evaluate.js';
import {
  addEvent,
  type DigestEvent,
  digestAnswer,
  digestQueries,
  type EventDigest,
  fillQueries,
  isDigestible,
  pruneDigest,
} from './event-digest.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');

function factsFrom(eventsMatching: ProfileFacts['eventsMatching']): ProfileFacts {
  return {
    traits: {},
    accounts: [],
    eventsMatching,
    isSubscribed: () => false,
    score: () => undefined,
    scoreSettlesBy: () => undefined,
    scoreFitChanges: () => [],
    stage: undefined,
    isInSegment: () => false,
  };
}

function logFacts(events: readonly DigestEvent[]): ProfileFacts {
  const sorted = [...events].sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
  return factsFrom(matchingFrom((name): EventFact[] => sorted.filter((event) => event.name === name)));
}

function digestFacts(digest: EventDigest): ProfileFacts {
  return factsFrom((query) => {
    const answer = digestAnswer(digest, query);
    if (!answer) throw new Error(`the digest does not keep ${JSON.stringify(query)}`);
    return answer;
  });
}

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const RULES = [
  { type: 'event', event: 'Order Completed', within: '30d', atLeast: 2 },
  { type: 'event', event: 'Order Completed', atLeast: 3 },
  { type: 'event', event: 'Order Completed', within: '7d', atLeast: 0, atMost: 1 },
  {
    type: 'event',
    event: 'Order Completed',
    where: [{ path: 'total', op: 'gte', value: 100 }],
    within: '14d',
  },
  { type: 'event', event: 'Page Viewed', within: '3d', atLeast: 4 },
  { type: 'event_time', event: 'Page Viewed', which: 'last', op: 'not_within_last', value: '5d' },
  { type: 'event_time', event: 'Order Completed', which: 'first', op: 'within_last', value: '20d' },
  { type: 'event_time', event: 'Page Viewed', which: 'first', op: 'before', value: '2026-05-10T00:00:00Z' },
  {
    all: [
      { type: 'event', event: 'Page Viewed', within: '10d', atLeast: 2 },
      { not: { type: 'event', event: 'Order Completed', within: '10d' } },
    ],
  },
].map((rule) => SegmentCondition.parse(rule));

describe('event digest', () => {
  it('decides every rule as the whole history does, at any time after, whatever order events come in', () => {
    const queries = [...digestQueries(RULES).values()];
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const events: DigestEvent[] = Array.from({ length: Math.floor(next() * 25) }, (_, id) => ({
        id: id + 1,
        name: next() < 0.5 ? 'Order Completed' : 'Page Viewed',
        timestamp: NOW - Math.floor(next() * 40 * DAY),
        properties: { total: Math.floor(next() * 200) },
      }));
      // Half read from the log at once, the rest arriving one by one (some twice), out of order.
      const digest: EventDigest = {};
      const split = Math.floor(events.length / 2);
      fillQueries(digest, queries, events.slice(0, split));
      for (const event of [...events.slice(split), ...events.slice(split, split + 3)].reverse())
        addEvent(digest, queries, event);
      for (const at of [NOW, NOW + 2 * DAY, NOW + 9 * DAY, NOW + 31 * DAY]) {
        for (const rule of RULES) {
          const expected = {
            isMember: isMember(rule, logFacts(events), at),
            next: nextMembershipChange(rule, logFacts(events), at),
          };
          expect(
            {
              isMember: isMember(rule, digestFacts(digest), at),
              next: nextMembershipChange(rule, digestFacts(digest), at),
            },
            `seed ${seed}, ${JSON.stringify(rule)} at +${(at - NOW) / DAY}d`,
          ).toEqual(expected);
        }
      }
    }
  });

  it('keeps only the events that decide a query: the most recent needed, or the first', () => {
    const queries = [...digestQueries(RULES.slice(0, 2)).values()];
    const firstQueries = [...digestQueries([RULES[6] as SegmentCondition]).values()];
    const digest: EventDigest = {};
    fillQueries(digest, [...queries, ...firstQueries], []);
    for (let id = 1; id <= 10; id++) {
      const event = { id, name: 'Order Completed', timestamp: NOW - id * DAY, properties: {} };
      addEvent(digest, [...queries, ...firstQueries], event);
    }
    const [twoInWindow, threeEver] = queries.map((query) => digest[query.key]);
    expect(twoInWindow).toEqual([NOW - 2 * DAY, 2, NOW - DAY, 1]);
    expect(threeEver).toEqual([NOW - 3 * DAY, 3, NOW - 2 * DAY, 2, NOW - DAY, 1]);
    expect(digest[firstQueries[0]?.key as string]).toEqual([NOW - 10 * DAY, 10]);
    // The same event again changes nothing, nor does one too old to matter.
    const again = { id: 1, name: 'Order Completed', timestamp: NOW - DAY, properties: {} };
    const old = { id: 99, name: 'Order Completed', timestamp: NOW - 50 * DAY, properties: {} };
    expect(addEvent(digest, queries, again)).toBe(false);
    expect(addEvent(digest, queries, old)).toBe(false);
  });

  it('leaves out queries it has not read yet, filters relative to now, and queries no segment asks', () => {
    const [query] = [...digestQueries([RULES[0] as SegmentCondition]).values()];
    const digest: EventDigest = {};
    addEvent(digest, query ? [query] : [], {
      id: 1,
      name: 'Order Completed',
      timestamp: NOW,
      properties: {},
    });
    expect(digest).toEqual({});
    expect(digestAnswer(digest, query?.query as never)).toBeUndefined();

    const relative = SegmentCondition.parse({
      type: 'event',
      event: 'Signed Up',
      where: [{ path: 'trial_ends', op: 'within_last', value: '7d' }],
    });
    expect(digestQueries([relative]).size).toBe(0);
    expect(isDigestible({ event: 'Signed Up', where: [], keep: 1, reachMs: null })).toBe(true);

    expect(pruneDigest({ a: [1, 2], b: [] }, new Set(['b']))).toEqual({ b: [] });
  });
});
