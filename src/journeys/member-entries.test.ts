import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JourneyDraft } from '../core/journey-draft.js';
import { SEGMENT_ENTERED } from '../core/segment-definition.js';
import { membershipEvents } from '../segments/membership.js';
import { createSegment } from '../segments/segments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { liftRefusal, refuseWrites } from '../test-support/refusing-trigger.js';
import { identify } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { publishJourney, setJourneyPaused, updateDraft } from './journeys.js';
import { runMemberEntries } from './member-entries.js';

describe.each(BACKENDS)('a segment’s current members entering a journey on %s', (backend) => {
  let world: JourneyWorld;
  let pros = '';

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    pros = (
      await createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
        now: world.clock.now(),
      })
    ).id;
    await world.send([
      identify('ada', { plan: 'pro' }),
      identify('bob', { plan: 'pro' }),
      identify('cy', { plan: 'free' }),
      identify('dee', { plan: 'pro' }),
    ]);
    await world.settle();
  });
  afterEach(async () => {
    await world.close();
  });

  /** Entered every time, ending at once: only what the entry itself does keeps anyone from entering again. */
  const definition = (trigger: Record<string, unknown>, name = 'Welcome pros'): JourneyDraft => ({
    name,
    entry: {
      trigger: { type: 'segment' as const, segment: pros, on: 'entered', ...trigger },
      reentry: { policy: 'every_time' },
    },
    start: 'done',
    steps: [{ id: 'done', type: 'exit' }],
  });
  const entriesOf = async (journeyId: string, userId: string) =>
    (await world.storage.journeys.listInstancesOfProfile(world.workspaceId, await world.profileOf(userId)))
      .filter((instance) => instance.journeyId === journeyId)
      .map((instance) => ({
        event: instance.entryEvent.name,
        fromLog: instance.entryEvent.messageId !== null,
      }));
  const latest = (journeyId: string) => world.storage.journeys.latestMemberEntry(journeyId);
  const run = (options: { pages?: number; pageSize?: number } = {}) =>
    runMemberEntries(world.storage, {
      engine: world.background.engine,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
      ...options,
    });

  it('enters those in the segment when published, newcomers on their own entry, and nobody again at the next version', async () => {
    const journeyId = await world.publish(definition({ currentMembers: true }));
    expect(await latest(journeyId)).toMatchObject({ status: 'running', membersTotal: 3, membersDone: 0 });
    await world.settle();
    for (const member of ['ada', 'bob', 'dee'])
      expect(await entriesOf(journeyId, member)).toEqual([{ event: SEGMENT_ENTERED, fromLog: false }]);
    expect(await entriesOf(journeyId, 'cy')).toEqual([]);
    expect(await latest(journeyId)).toMatchObject({
      status: 'done',
      membersTotal: 3,
      membersDone: 3,
      entered: 3,
      reason: null,
    });
    const [instance] = await world.storage.journeys.listInstancesOfProfile(
      world.workspaceId,
      await world.profileOf('ada'),
    );
    expect(instance?.entryEvent.properties).toMatchObject({ segment_id: pros, segment_name: 'Pros' });

    // A newcomer enters on its own Segment Entered, as before.
    await world.send([identify('cy', { plan: 'pro' })]);
    await world.settle();
    expect(await entriesOf(journeyId, 'cy')).toEqual([{ event: SEGMENT_ENTERED, fromLog: true }]);

    // A later version keeping the setting enters nobody again, though the journey lets them re-enter.
    const entryBefore = await latest(journeyId);
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: definition({ currentMembers: true }, 'Welcome pros, again'),
    });
    world.clock.advance(1000);
    expect(
      (await publishJourney(world.storage, world.clock, world.workspaceId, journeyId)).version.version,
    ).toBe(2);
    await world.settle();
    expect(await latest(journeyId)).toEqual(entryBefore);
    for (const member of ['ada', 'bob', 'cy', 'dee'])
      expect(await entriesOf(journeyId, member)).toHaveLength(1);
  });

  it('enters nobody already there without the setting, and a version adding it enters them then', async () => {
    const journeyId = await world.publish(definition({}));
    await world.settle();
    expect(await latest(journeyId)).toBeUndefined();
    expect(await entriesOf(journeyId, 'ada')).toEqual([]);

    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: definition({ currentMembers: true }),
    });
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);
    await world.settle();
    expect(await latest(journeyId)).toMatchObject({ status: 'done', entered: 3 });
    expect(await entriesOf(journeyId, 'ada')).toHaveLength(1);
  });

  it('goes a page at a time from where it stopped, skipping who entered meanwhile, and a version without it stops it', async () => {
    const journeyId = await world.publish(definition({ currentMembers: true }));
    expect(await run({ pages: 1, pageSize: 1 })).toBe(1);
    expect(await latest(journeyId)).toMatchObject({ status: 'running', membersDone: 1, entered: 1 });
    const entered = async () => {
      const counts = await Promise.all(
        ['ada', 'bob', 'dee'].map(async (id) => (await entriesOf(journeyId, id)).length),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    };
    expect(await entered()).toBe(1);

    // By hand meanwhile (the API's enrolment): the page reaching them enters them no second time.
    for (const member of ['ada', 'bob', 'dee'])
      await world.background.engine.enrol({
        workspaceId: world.workspaceId,
        journeyId,
        profileId: await world.profileOf(member),
        properties: {},
      });
    expect(await run({ pages: 1, pageSize: 1 })).toBe(1);
    expect(await latest(journeyId)).toMatchObject({ status: 'running', membersDone: 2, entered: 1 });

    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: definition({}),
    });
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);
    expect(await latest(journeyId)).toMatchObject({
      status: 'cancelled',
      membersDone: 2,
      reason: 'version 2 enters only those who enter the segment from now on',
    });
    expect(await run()).toBe(0);
  });

  it('waits for journeys to read what came before the publish, so a contact entering the segment then enters once', async () => {
    // Eve joins just before the publish: one round of the pipeline makes her a member, and writes her
    // Segment Entered, which journeys read only at the next round, after the publish.
    await world.send([identify('eve', { plan: 'pro' })]);
    const isPro = async () => {
      const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [
        { kind: 'user', value: 'eve' },
      ]);
      if (identity === undefined) return false;
      const memberships = await world.storage.segments.memberships([identity.profileId], [pros]);
      return memberships.get(identity.profileId)?.has(pros) === true;
    };
    // Rounds until she is one, not just one round: on PostgreSQL her identify may wait behind a
    // transaction open elsewhere on the server (another test file's), and a round then finds nothing.
    // The round that decides her stops it, before the one that would read her Segment Entered.
    for (let round = 1; !(await isPro()); round++) {
      if (round > 1000) throw new Error('eve never became a member');
      if ((await world.background.pipeline.runOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const journeyId = await world.publish(definition({ currentMembers: true }));
    expect(await run()).toBe(0);
    expect(await latest(journeyId)).toMatchObject({ status: 'running', membersDone: 0 });
    await world.settle();
    expect(await latest(journeyId)).toMatchObject({ status: 'done' });
    // Entered by her own Segment Entered (read after the publish), not by the page too.
    expect(await entriesOf(journeyId, 'eve')).toEqual([{ event: SEGMENT_ENTERED, fromLog: true }]);
    for (const member of ['ada', 'bob', 'dee']) expect(await entriesOf(journeyId, member)).toHaveLength(1);
  });

  it('enters no one twice for one entering: a Segment Entered committed after the page reached its contact', async () => {
    const publishedAt = world.clock.now();
    const journeyId = await world.publish(definition({ currentMembers: true }));
    world.clock.advance(1000);
    await world.settle();
    expect(await entriesOf(journeyId, 'ada')).toHaveLength(1);
    // Another process decided Ada just before the publish, and its Segment Entered commits only now.
    const ada = await world.profileOf('ada');
    const late = membershipEvents({
      changes: {
        entered: [{ segmentId: pros, profileId: ada, workspaceId: world.workspaceId, at: publishedAt - 1 }],
        exited: [],
        timers: [],
      },
      segmentNames: new Map([[pros, 'Pros']]),
      ids: await world.storage.segments.idsOf([ada]),
      at: publishedAt - 1,
    });
    await world.storage.transaction((tx) => tx.generatedEvents.append(late));
    await world.settle();
    expect(await entriesOf(journeyId, 'ada')).toEqual([{ event: SEGMENT_ENTERED, fromLog: false }]);
  });

  it('enters each member once when two workers run the pages at the same time', async () => {
    const journeyId = await world.publish(definition({ currentMembers: true }));
    // Two processes' schedulers, a member a page: the entry is held by one page at a time.
    for (let round = 0; round < 10 && (await latest(journeyId))?.status === 'running'; round++)
      await Promise.all([run({ pageSize: 1 }), run({ pageSize: 1 })]);
    expect(await latest(journeyId)).toMatchObject({ status: 'done', membersDone: 3, entered: 3 });
    for (const member of ['ada', 'bob', 'dee']) expect(await entriesOf(journeyId, member)).toHaveLength(1);
  });

  it('waits while the journey is paused and stops when it is archived', async () => {
    const journeyId = await world.publish(definition({ currentMembers: true }));
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, true);
    await world.settle();
    expect(await latest(journeyId)).toMatchObject({ status: 'running', membersDone: 0 });
    expect(await entriesOf(journeyId, 'ada')).toEqual([]);
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, false);
    await world.settle();
    expect(await latest(journeyId)).toMatchObject({ status: 'done', entered: 3 });

    const other = await world.publish(definition({ currentMembers: true }, 'Archived before it ran'));
    await world.storage.journeys.update({
      ...(await world.storage.journeys.find(world.workspaceId, other))!,
      status: 'archived',
    });
    await world.settle();
    expect(await latest(other)).toMatchObject({ status: 'cancelled', reason: 'the journey was archived' });
    expect(await entriesOf(other, 'ada')).toEqual([]);
  });

  it('tries a failing page again, and gives up on it at the fourth failure with the error', async () => {
    const refusal = { name: 'refuse_instances', table: 'journey_instances' };
    await refuseWrites(world, { ...refusal, on: 'insert', when: 'true' });
    const journeyId = await world.publish(definition({ currentMembers: true }));
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await run()).toBe(0);
      expect(await latest(journeyId)).toMatchObject({ status: 'running', membersDone: 0 });
    }
    const failures = new Map<string, number>();
    for (let attempt = 1; attempt <= 4; attempt++)
      await runMemberEntries(world.storage, {
        engine: world.background.engine,
        clock: world.clock,
        logger: pino({ level: 'silent' }),
        failures,
      });
    expect(await latest(journeyId)).toMatchObject({ status: 'failed', membersDone: 0 });
    expect((await latest(journeyId))?.reason).toContain('refused by a test trigger');
    await liftRefusal(world, refusal);
    expect(await entriesOf(journeyId, 'ada')).toEqual([]);
  });

  it('refuses the setting on a journey entered on leaving the segment', async () => {
    await expect(world.publish(definition({ on: 'exited', currentMembers: true }))).rejects.toThrow(
      /entry\.trigger\.currentMembers.*entering the segment, not on leaving it/,
    );
  });
});
