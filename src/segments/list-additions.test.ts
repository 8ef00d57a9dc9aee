import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadProperties } from '../core/event.js';
import { SEGMENT_ENTERED } from '../core/segment-definition.js';
import { listProfileTimeline } from '../profiles/profiles.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { requestListAddition, runListAdditions, staticListFor } from './list-additions.js';
import { createSegment, deleteSegment } from './segments.js';

describe.each(BACKENDS)('imported contacts joining a static list on %s', (backend) => {
  let world: JourneyWorld;
  let tradeShow = '';

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    tradeShow = (
      await createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: { name: 'Trade show', kind: 'static' },
        now: world.clock.now(),
      })
    ).id;
  });
  afterEach(async () => {
    await world.close();
  });

  const request = (userIds: string[]) =>
    requestListAddition(world.storage, {
      workspaceId: world.workspaceId,
      segmentId: tradeShow,
      userIds,
      now: world.clock.now(),
    });
  const run = () =>
    runListAdditions(world.storage, { clock: world.clock, logger: pino({ level: 'silent' }) });
  const find = (id: string) => world.storage.segments.findListAddition(world.workspaceId, id);
  const members = async () =>
    (await world.storage.segments.listMembers(tradeShow, { limit: 10 })).items
      .map((item) => item.profileId)
      .sort();

  it('waits for the pipeline to make the contacts profiles, then adds those found, each entering once', async () => {
    await world.send([identify('ada', { plan: 'pro' })]);
    await world.settle();
    // In the list already: found, but not added again.
    const ada = await world.profileOf('ada');
    await world.storage.transaction((tx) =>
      tx.segments.addMembers([
        { segmentId: tradeShow, profileId: ada, workspaceId: world.workspaceId, at: 1 },
      ]),
    );
    await world.send([identify('bob', { plan: 'free' }), identify('cy', { plan: 'free' })]);
    // `ghost`'s call was never stored: once the pipeline has read everything, it is not found.
    const addition = await request(['ada', 'bob', 'cy', 'ghost', 'bob']);
    expect(addition).toMatchObject({ status: 'waiting', userIds: ['ada', 'bob', 'cy', 'ghost'] });
    expect(await run()).toBe(0);
    expect(await find(addition.id)).toMatchObject({ status: 'waiting', added: 0 });

    await world.settle();
    expect(await find(addition.id)).toMatchObject({ status: 'done', matched: 3, unmatched: 1, added: 2 });
    const profiles = await Promise.all(['ada', 'bob', 'cy'].map((id) => world.profileOf(id)));
    expect(await members()).toEqual(profiles.sort());
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('bob'),
      {
        limit: 10,
      },
    );
    expect(
      timeline?.items
        .filter((event) => event.name === SEGMENT_ENTERED)
        .map((event) => payloadProperties(event.payload).segment_id),
    ).toEqual([tradeShow]);
    expect(await run()).toBe(0);
  });

  it('adds as soon as every contact is found, though the pipeline is behind with others', async () => {
    await world.send([identify('ada', {})]);
    await world.settle();
    await world.send([identify('late', {})]);
    const addition = await request(['ada']);
    expect(await run()).toBe(1);
    expect(await find(addition.id)).toMatchObject({ status: 'done', matched: 1, unmatched: 0, added: 1 });
  });

  it('counts on from where a run cut short by a crash had got: contacts added then stay counted', async () => {
    await world.send([identify('ada', {}), identify('bob', {})]);
    await world.settle();
    const addition = await request(['ada', 'bob']);
    // As a first page leaves it, committed with its count, before the process died.
    const ada = await world.profileOf('ada');
    await world.storage.transaction(async (tx) => {
      await tx.segments.addMembers([
        { segmentId: tradeShow, profileId: ada, workspaceId: world.workspaceId, at: 1 },
      ]);
      await tx.segments.countListAdditionAdded(addition.id, 1);
    });
    expect(await run()).toBe(1);
    expect(await find(addition.id)).toMatchObject({ status: 'done', matched: 2, added: 2 });
  });

  it('fails with the reason when the list was deleted before its contacts were found', async () => {
    await world.send([identify('ada', {})]);
    const addition = await request(['ada']);
    await deleteSegment(world.storage, world.workspaceId, tradeShow);
    await world.settle();
    expect(await find(addition.id)).toMatchObject({
      status: 'failed',
      added: 0,
      reason: `segment ${tradeShow} was deleted`,
    });
  });

  it('takes a static segment only, naming the field', async () => {
    const live = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    const check = (segmentId: string) =>
      staticListFor(world.storage, { workspaceId: world.workspaceId, segmentId, field: 'list' });
    await expect(check(live.id)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'list',
      message: 'list: Pros is a live segment, which follows its rule; choose a static one',
    });
    await expect(check('seg_missing')).rejects.toMatchObject({ field: 'list' });
    expect((await check(tradeShow)).name).toBe('Trade show');
  });
});
