import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Step } from '../core/journey-definition.js';
import type { JourneyDraft } from '../core/journey-draft.js';
import { splitResults } from '../experiments/experiments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { chooseArm } from './executor.js';
import { getJourney, publishJourney, updateDraft } from './journeys.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const SPLIT: Extract<Step, { type: 'split' }> = {
  id: 'split',
  type: 'split',
  arms: [
    { name: 'a', weight: 1, next: 'mark' },
    { name: 'b', weight: 1, next: 'end' },
  ],
  holdout: { weight: 1 },
};

/** A promotion tested on its goal: arm a is marked and ends, arm b ends at once, the holdout leaves at the split. */
const promo = {
  name: 'Promo',
  entry: { trigger: { type: 'event', event: 'Joined' } },
  goal: { event: 'Bought', within: '7d' },
  start: 'split',
  steps: [
    SPLIT,
    { id: 'mark', type: 'update_traits', set: { promo: 'a' }, next: 'end' },
    { id: 'end', type: 'exit' },
  ],
};

describe.each(BACKENDS)('splits judged on the goal on %s (manual clock)', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  /** The group each of these users falls in, as the engine chooses it. */
  const groupsOf = async (journeyId: string, users: string[]) => {
    const groups = new Map<string, string>();
    for (const user of users) {
      const profileId = await world.profileOf(user);
      const arm = chooseArm(SPLIT, `${journeyId}:split:${profileId}`);
      groups.set(user, arm?.name ?? 'holdout');
    }
    return groups;
  };
  const tallied = async (journeyId: string) =>
    Object.fromEntries(
      (await world.storage.journeys.tallySplits(journeyId, world.clock.now())).map((tally) => [
        tally.arm ?? 'holdout',
        {
          entered: tally.entered,
          converted: tally.converted,
          pending: tally.pending,
          pendingConverted: tally.pendingConverted,
        },
      ]),
    );

  it('counts the goal of contacts who left the journey, the holdout included, within its window only', async () => {
    const journeyId = await world.publish(promo);
    // Sixty, so that no group is left empty but once in some ten billion runs (the arms hash random ids).
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    await world.send(users.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();
    const groups = await groupsOf(journeyId, users);
    const count = (group: string, among = users) => among.filter((user) => groups.get(user) === group).length;
    // Everyone has left: arms a and b ended at their exit, the holdout at the split. No one converted.
    const report = await world.storage.journeys.report(journeyId);
    expect(report).toMatchObject({ active: 0, converted: 0 });
    expect(count('holdout')).toBeGreaterThan(0);

    // The first ten buy within the week; while it lasts, everyone is pending, buyers too.
    const buyers = users.slice(0, 10);
    await world.advance(DAY);
    await world.send(buyers.map((user) => track(user, 'Bought')));
    await world.settle();
    const during = await tallied(journeyId);
    for (const group of ['a', 'b', 'holdout'])
      expect(during[group]).toEqual({
        entered: count(group),
        converted: count(group, buyers),
        pending: count(group),
        pendingConverted: count(group, buyers),
      });

    // A purchase after the week does not count; the window closed, nobody is pending.
    await world.advance(7 * DAY);
    await world.send(users.slice(10).map((user) => track(user, 'Bought')));
    await world.settle();
    const after = await tallied(journeyId);
    for (const group of ['a', 'b', 'holdout'])
      expect(after[group]).toEqual({
        entered: count(group),
        converted: count(group, buyers),
        pending: 0,
        pendingConverted: 0,
      });
  });

  it('keeps a contact pending while an order bought in time waits behind a backlog, though the window has closed', async () => {
    const journeyId = await world.publish(promo);
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    await world.send(users.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();
    // Everyone buys an hour before the week is out; the journeys consumer has not read it when it ends.
    world.clock.advance(7 * DAY - HOUR);
    await world.send(users.map((user) => track(user, 'Bought')));
    world.clock.advance(2 * HOUR);
    const journey = await getJourney(world.storage, world.workspaceId, journeyId);
    const groups = async () =>
      (await splitResults(world.storage, journey, world.clock.now()))[0]?.groups ?? [];
    for (const group of await groups()) expect(group.pending, group.arm ?? 'holdout').toBe(group.entered);

    await world.settle();
    const read = await groups();
    expect(read.reduce((sum, group) => sum + group.entered, 0)).toBe(users.length);
    for (const group of read) expect([group.pending, group.converted]).toEqual([0, group.entered]);
  });

  it('judges on a goal added by a later version only those who took the split under a version with it', async () => {
    const { goal: _goal, ...withoutGoal } = promo;
    const journeyId = await world.publish(withoutGoal);
    const before = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
    await world.send(before.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: promo as unknown as JourneyDraft,
    });
    world.clock.advance(1000);
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);
    const after = ['a0', 'a1', 'a2'];
    await world.send(after.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();

    const journey = await getJourney(world.storage, world.workspaceId, journeyId);
    const [split] = await splitResults(world.storage, journey, world.clock.now());
    expect(split?.hasGoal).toBe(true);
    // The six before never had a goal watched: no part of the comparison, rather than six lost.
    expect(split?.groups.reduce((sum, group) => sum + group.entered, 0)).toBe(after.length);
  });

  it('without a goal window, counts a contact pending while still in the journey: the arms have not played out', async () => {
    // Arm a waits two days before it ends; arm b ends at once; the holdout leaves at the split.
    const journeyId = await world.publish({
      ...promo,
      goal: { event: 'Bought' },
      steps: [
        { ...SPLIT, arms: [{ ...SPLIT.arms[0], next: 'pause' }, SPLIT.arms[1]] },
        { id: 'pause', type: 'wait', duration: '2d', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const users = Array.from({ length: 60 }, (_, i) => `w${i}`);
    await world.send(users.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();
    const groups = await groupsOf(journeyId, users);
    const count = (group: string) => users.filter((user) => groups.get(user) === group).length;
    expect(count('a')).toBeGreaterThan(0);
    const during = await tallied(journeyId);
    expect(during.a).toMatchObject({ entered: count('a'), pending: count('a') });
    expect(during.b).toMatchObject({ entered: count('b'), pending: 0 });
    expect(during.holdout).toMatchObject({ entered: count('holdout'), pending: 0 });

    // Their wait over, arm a's contacts have left too: every outcome so far counts.
    await world.advance(2 * DAY + HOUR);
    const after = await tallied(journeyId);
    expect(after.a).toMatchObject({ entered: count('a'), pending: 0 });
  });

  it('counts a contact once however often they enter, and a goal met in the batch that entered them', async () => {
    const journeyId = await world.publish({
      ...promo,
      entry: { trigger: { type: 'event', event: 'Joined' }, reentry: { policy: 'every_time' } },
      goal: { event: 'Bought' },
    });
    // The goal met by an event of the batch that entered the contact counts.
    await world.send([identify('v', {}), track('v', 'Joined'), track('v', 'Bought')]);
    await world.settle();
    await world.send([track('v', 'Joined')]);
    await world.settle();
    const [group] = (await groupsOf(journeyId, ['v'])).values();
    const tallies = await world.storage.journeys.tallySplits(journeyId, world.clock.now());
    expect(tallies).toEqual([
      // Without `within` the goal is watched as long as it takes: no one is pending on it.
      {
        stepId: 'split',
        arm: group === 'holdout' ? null : group,
        entered: 1,
        converted: 1,
        pending: 0,
        pendingConverted: 0,
      },
    ]);
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(2);
  });

  it('counts a contact whose two profiles took different arms once, in the arm taken first, after they merge', async () => {
    const journeyId = await world.publish(promo);
    await world.send([identify('first', {}), track('first', 'Joined')]);
    await world.settle();
    await world.advance(HOUR);
    const others = Array.from({ length: 24 }, (_, i) => `o${i}`);
    await world.send(others.flatMap((user) => [identify(user, {}), track(user, 'Joined')]));
    await world.settle();
    const groups = await groupsOf(journeyId, ['first', ...others]);
    const second = others.find((user) => groups.get(user) !== groups.get('first'));
    if (!second) throw new Error('every contact fell in the same group');
    const before = await tallied(journeyId);

    // The second profile merges into the first: one person, seen in two arms.
    await world.send([{ type: 'alias', userId: 'first', previousId: second }]);
    await world.settle();
    expect(await world.profileOf(second)).toBe(await world.profileOf('first'));
    const after = await tallied(journeyId);
    const firstGroup = groups.get('first') as string;
    const secondGroup = groups.get(second) as string;
    expect(after[firstGroup]?.entered).toBe(before[firstGroup]?.entered);
    expect(after[secondGroup]?.entered ?? 0).toBe((before[secondGroup]?.entered ?? 0) - 1);
  });
});
