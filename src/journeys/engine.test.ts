import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listProfileTimeline } from '../profiles/profiles.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { publishJourney, updateDraft } from './journeys.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(BACKENDS)('journey engine on %s (manual clock)', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('waits durably: the reminder goes out only when the clock reaches the timer', async () => {
    const template = await world.template({
      subject: 'Welcome {{ profile.traits.name }}',
      mjml: '<p>Hello {{ profile.traits.name }}</p>',
    });
    await world.publish({
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '2d', next: 'mail' },
        { id: 'mail', type: 'send_email', template, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('u1', { email: 'u1@example.com', name: 'Uno' }), track('u1', 'Signed Up')]);
    await world.settle();
    await world.advance(2 * DAY - 1000);
    expect(world.sink.received).toHaveLength(0);
    await world.advance(1000);
    expect(world.sink.received).toHaveLength(1);
    expect(world.sink.received[0]?.parsed.subject).toBe('Welcome Uno');
  });

  it('lets a timer fire only once the events received before it fell due are read', async () => {
    await world.publish({
      name: 'Cart',
      entry: { trigger: { type: 'event', event: 'Cart Updated' } },
      start: 'wait',
      steps: [
        {
          id: 'wait',
          type: 'wait_for_event',
          event: 'Order Completed',
          timeout: '1h',
          next: 'bought',
          timeoutNext: 'remind',
        },
        { id: 'bought', type: 'update_traits', set: { cart: 'bought' }, next: 'end' },
        { id: 'remind', type: 'update_traits', set: { cart: 'reminded' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([track('ada', 'Cart Updated')]);
    await world.settle();
    // The order arrives 5 s before the timeout; the timer loop runs before the pipeline reads it.
    world.clock.advance(HOUR - 5000);
    await world.send([track('ada', 'Order Completed')]);
    world.clock.advance(10_000);
    expect(await world.background.engine.runDueTimers()).toBe(0);
    await world.settle();
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('ada'));
    expect(profile?.traits.cart).toBe('bought');
  });

  it('lets a branch see the traits a step before it set in the same move', async () => {
    await world.publish({
      name: 'Upgrade',
      entry: { trigger: { type: 'event', event: 'Upgraded' } },
      start: 'set',
      steps: [
        {
          id: 'set',
          type: 'update_traits',
          set: { plan: 'vip', greeting: 'Hi {{ profile.traits.plan }}' },
          next: 'branch',
        },
        {
          id: 'branch',
          type: 'branch',
          branches: [
            {
              conditions: [
                { source: 'trait', path: 'plan', op: 'eq', value: 'vip' },
                { source: 'trait', path: 'greeting', op: 'eq', value: 'Hi vip' },
              ],
              next: 'vip',
            },
          ],
          otherwise: 'other',
        },
        { id: 'vip', type: 'update_traits', set: { path: 'vip' }, next: 'end' },
        { id: 'other', type: 'update_traits', set: { path: 'other' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('ben', { plan: 'free' }), track('ben', 'Upgraded')]);
    await world.settle();
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('ben'));
    expect(profile?.traits).toMatchObject({ plan: 'vip', greeting: 'Hi vip', path: 'vip' });
  });

  it('ends, on its next event, an instance of an archived journey that archiving missed', async () => {
    const journeyId = await world.publish({
      name: 'Cart follow-up',
      entry: { trigger: { type: 'event', event: 'Cart Viewed' } },
      start: 'await',
      steps: [
        {
          id: 'await',
          type: 'wait_for_event',
          event: 'Checkout Started',
          timeout: '1d',
          next: 'tag',
          timeoutNext: 'end',
        },
        { id: 'tag', type: 'update_traits', set: { nudged: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([track('u5', 'Cart Viewed')]);
    await world.settle();
    // Archived as a batch on another process created the instance: archiving's exit of all missed it.
    const journey = await world.storage.journeys.find(world.workspaceId, journeyId);
    await world.storage.journeys.update({ ...(journey as NonNullable<typeof journey>), status: 'archived' });
    await world.send([track('u5', 'Checkout Started')]);
    await world.settle();
    const profileId = await world.profileOf('u5');
    const [instance] = await world.storage.journeys.listInstancesOfProfile(world.workspaceId, profileId);
    expect(instance).toMatchObject({ status: 'exited' });
    const [profile] = await world.storage.profiles.findProfilesByIds([profileId]);
    expect(profile?.traits.nudged).toBeUndefined();
  });

  it('keeps one instance of a journey when a merge brings a second to the same person', async () => {
    await world.publish({
      name: 'Cart reminder',
      entry: { trigger: { type: 'event', event: 'Cart Viewed' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1d', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const visitor = { type: 'track', anonymousId: 'anon-kay', event: 'Cart Viewed', properties: {} };
    await world.send([visitor, identify('kay', {}), track('kay', 'Cart Viewed')]);
    await world.settle();
    await world.send([{ type: 'identify', userId: 'kay', anonymousId: 'anon-kay', traits: {} }]);
    await world.settle();
    const instances = await world.storage.journeys.listInstancesOfProfile(
      world.workspaceId,
      await world.profileOf('kay'),
    );
    expect(instances.map((instance) => instance.status).sort()).toEqual(['active', 'exited']);
    expect(instances.find((instance) => instance.status === 'exited')?.endReason).toBe(
      'merged into a profile already in this journey',
    );
  });

  it('sends nothing the instance a merge ends still held back, as for quiet hours', async () => {
    // 11:00 in Rome, inside these quiet hours: both reminders wait for 18:00.
    await world.configure({ quietHours: { start: '10:00', end: '18:00' } });
    const template = await world.template({ subject: 'Your cart', mjml: '<p>Still thinking?</p>' });
    await world.publish({
      name: 'Cart reminder',
      entry: { trigger: { type: 'event', event: 'Cart Updated' } },
      start: 'mail',
      steps: [
        { id: 'mail', type: 'send_email', template, next: 'wait' },
        { id: 'wait', type: 'wait', duration: '1d', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('ann', { email: 'ann@example.com' }), track('ann', 'Cart Updated')]);
    await world.send([
      { type: 'identify', anonymousId: 'anon-ann', traits: { email: 'ann@example.com' } },
      { type: 'track', anonymousId: 'anon-ann', event: 'Cart Updated', properties: {} },
    ]);
    await world.settle();
    await world.send([{ type: 'identify', userId: 'ann', anonymousId: 'anon-ann', traits: {} }]);
    await world.settle();
    await world.advance(8 * 3_600_000);
    expect(world.sink.received).toHaveLength(1);
    const page = await world.storage.messages.list(
      world.workspaceId,
      { profileId: await world.profileOf('ann') },
      { limit: 10 },
    );
    expect(page.items.map((message) => [message.status, message.reason]).sort()).toEqual([
      ['sent', null],
      ['skipped', 'merged into a profile already in this journey'],
    ]);
  });

  it('writes a Traits Updated for each step of a move that sets traits', async () => {
    await world.publish({
      name: 'Trial',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'plan',
      steps: [
        { id: 'plan', type: 'update_traits', set: { plan: 'trial' }, next: 'tier' },
        { id: 'tier', type: 'update_traits', set: { tier: 'gold' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('tess', {}), track('tess', 'Signed Up')]);
    await world.settle();
    const page = await listProfileTimeline(world.storage, world.workspaceId, await world.profileOf('tess'), {
      limit: 10,
    });
    const changes = (page?.items ?? [])
      .filter((event) => event.name === 'Traits Updated')
      .map((event) => (event.payload.properties as { traits: unknown }).traits);
    expect(changes).toEqual(expect.arrayContaining([{ plan: 'trial' }, { tier: 'gold' }]));
    expect(changes).toHaveLength(2);
  });

  it('keeps running instances on the version they started with', async () => {
    const journeyId = await world.publish({
      name: 'Versioned',
      entry: {
        trigger: { type: 'event', event: 'Signed Up' },
        reentry: { policy: 'every_time' },
        allowConcurrent: true,
      },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1h', next: 'tag' },
        { id: 'tag', type: 'update_traits', set: { version_seen: 'v1' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('early', {}), track('early', 'Signed Up')]);
    await world.settle();
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: {
        name: 'Versioned',
        entry: {
          trigger: { type: 'event', event: 'Signed Up', conditions: [] },
          reentry: { policy: 'every_time' },
          allowConcurrent: true,
        },
        start: 'wait',
        steps: [
          { id: 'wait', type: 'wait', duration: '1h', next: 'tag' },
          { id: 'tag', type: 'update_traits', set: { version_seen: 'v2' }, next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      },
    });
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);
    await world.send([identify('late', {}), track('late', 'Signed Up')]);
    await world.settle();
    await world.advance(HOUR);
    const early = await world.storage.profiles.find(world.workspaceId, await world.profileOf('early'));
    const late = await world.storage.profiles.find(world.workspaceId, await world.profileOf('late'));
    expect(early?.traits.version_seen).toBe('v1');
    expect(late?.traits.version_seen).toBe('v2');
  });

  it('applies re-entry policies and one active instance per profile', async () => {
    const journey = (policy: unknown, name: string) => ({
      name,
      entry: { trigger: { type: 'event', event: 'Visited' }, reentry: policy },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1h', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const once = await world.publish(journey({ policy: 'once' }, 'Once'));
    const weekly = await world.publish(journey({ policy: 'once_per_period', period: '7d' }, 'Weekly'));
    const always = await world.publish(journey({ policy: 'every_time' }, 'Always'));
    await world.send([identify('v', {}), track('v', 'Visited')]);
    await world.settle();
    await world.send([track('v', 'Visited')]);
    await world.settle();
    await world.advance(2 * HOUR);
    await world.send([track('v', 'Visited')]);
    await world.settle();
    await world.advance(8 * DAY);
    await world.send([track('v', 'Visited')]);
    await world.settle();
    const entered = async (journeyId: string) => (await world.storage.journeys.report(journeyId)).entered;
    expect(await entered(once)).toBe(1);
    // Weekly: the second visit came while the first instance was active; the third within the week.
    expect(await entered(weekly)).toBe(2);
    // Always: every visit except the one while an instance was still active.
    expect(await entered(always)).toBe(3);
  });

  it('enters on a trait change and updates traits with Liquid', async () => {
    const journeyId = await world.publish({
      name: 'Became VIP',
      entry: { trigger: { type: 'trait_changed', trait: 'plan', value: 'vip' } },
      start: 'tag',
      steps: [
        {
          id: 'tag',
          type: 'update_traits',
          set: { vip_since: '{{ event.properties.plan }}-{{ profile.traits.name }}' },
          next: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('t', { name: 'Tina', plan: 'basic' })]);
    await world.settle();
    await world.send([identify('t', { plan: 'basic' })]);
    await world.settle();
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(0);
    await world.send([identify('t', { plan: 'vip' })]);
    await world.settle();
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('t'));
    expect(profile?.traits.vip_since).toBe('vip-Tina');
    expect((await world.storage.journeys.report(journeyId)).completed).toBe(1);
    // RudderStack's browser and mobile SDKs send an identify's traits in context.traits only.
    await world.send([{ type: 'identify', userId: 'r', context: { traits: { name: 'Rita', plan: 'vip' } } }]);
    await world.settle();
    const rita = await world.storage.profiles.find(world.workspaceId, await world.profileOf('r'));
    expect(rita?.traits.vip_since).toBe('vip-Rita');
  });

  it('enters on a trait becoming the value, not on a change of a trait that already held it', async () => {
    const entry = { reentry: { policy: 'every_time' } } as const;
    const steps = [{ id: 'end', type: 'exit' }] as const;
    const vip = await world.publish({
      name: 'Became VIP',
      entry: { ...entry, trigger: { type: 'trait_changed', trait: 'tags', value: 'vip' } },
      start: 'end',
      steps: [...steps],
    });
    const us = await world.publish({
      name: 'Moved to the US',
      entry: { ...entry, trigger: { type: 'trait_changed', trait: 'country', value: 'US' } },
      start: 'end',
      steps: [...steps],
    });
    const newYear = await world.publish({
      name: 'Renewed on New Year',
      entry: { ...entry, trigger: { type: 'trait_changed', trait: 'renewed_at', value: '2026-01-01' } },
      start: 'end',
      steps: [...steps],
    });
    const entered = async (journeyId: string) => (await world.storage.journeys.report(journeyId)).entered;
    await world.send([identify('t', { tags: ['vip'], country: 'US', renewed_at: '2026-01-01T09:00:00Z' })]);
    await world.settle();
    expect([await entered(vip), await entered(us), await entered(newYear)]).toEqual([1, 1, 1]);
    // Each still holds the value after the change: a list gaining an element, another case, a later hour.
    await world.send([
      identify('t', { tags: ['vip', 'beta'], country: 'us', renewed_at: '2026-01-01T17:00:00Z' }),
    ]);
    await world.settle();
    expect([await entered(vip), await entered(us), await entered(newYear)]).toEqual([1, 1, 1]);
    await world.send([identify('t', { tags: ['beta'], country: 'GB', renewed_at: '2026-01-02' })]);
    await world.settle();
    await world.send([identify('t', { tags: ['beta', 'vip'], country: 'US', renewed_at: '2026-01-01' })]);
    await world.settle();
    expect([await entered(vip), await entered(us), await entered(newYear)]).toEqual([2, 2, 2]);
  });

  it('does not take an object trait sent again with its keys in another order for a change', async () => {
    const journeyId = await world.publish({
      name: 'Moved house',
      entry: { trigger: { type: 'trait_changed', trait: 'address' }, reentry: { policy: 'every_time' } },
      start: 'end',
      steps: [{ id: 'end', type: 'exit' }],
    });
    await world.send([identify('t', { address: { street: 'Via Roma 1', city: 'Rome' } })]);
    await world.settle();
    await world.send([identify('t', { address: { city: 'Rome', street: 'Via Roma 1' } })]);
    await world.settle();
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(1);
  });

  it('splits deterministically by weight, with a holdout that leaves at once', async () => {
    const journeyId = await world.publish({
      name: 'Test',
      entry: { trigger: { type: 'event', event: 'Joined' } },
      start: 'split',
      steps: [
        {
          id: 'split',
          type: 'split',
          arms: [
            { name: 'a', weight: 1, next: 'a' },
            { name: 'b', weight: 1, next: 'b' },
          ],
          holdout: { weight: 1 },
        },
        { id: 'a', type: 'update_traits', set: { arm: 'a' }, next: 'end' },
        { id: 'b', type: 'update_traits', set: { arm: 'b' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send(
      Array.from({ length: 60 }, (_, i) => [identify(`s${i}`, {}), track(`s${i}`, 'Joined')]).flat(),
    );
    await world.settle();
    const report = await world.storage.journeys.report(journeyId);
    expect(report.entered).toBe(60);
    expect(report.steps.split?.exited).toBeGreaterThan(0);
    expect(
      (report.steps.a?.entered ?? 0) + (report.steps.b?.entered ?? 0) + (report.steps.split?.exited ?? 0),
    ).toBe(60);
  });

  it('pauses: no entries and no sending, then resumes where instances were', async () => {
    const template = await world.template({ subject: 'Hi', mjml: '<p>Hi</p>' });
    const journeyId = await world.publish({
      name: 'Pausable',
      entry: { trigger: { type: 'event', event: 'Go' }, reentry: { policy: 'every_time' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1h', next: 'mail' },
        { id: 'mail', type: 'send_email', template, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('p1', { email: 'p1@example.com' }), track('p1', 'Go')]);
    await world.settle();
    const { setJourneyPaused } = await import('./journeys.js');
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, true);
    await world.send([identify('p2', { email: 'p2@example.com' }), track('p2', 'Go')]);
    await world.advance(2 * HOUR);
    expect(world.sink.received).toHaveLength(0);
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(1);
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, false);
    await world.advance(2 * 60_000);
    expect(world.sink.received.map((mail) => mail.to[0])).toEqual(['p1@example.com']);
  });
});

describe('journey timers beside an event batch on postgres', () => {
  let world: JourneyWorld;
  beforeEach(async () => {
    world = await startJourneyWorld('postgres');
  });
  afterEach(async () => {
    await world.close();
  });

  it('passes over a timer whose instance an event batch holds, locking as it does: instance, then timers', async () => {
    const journeyId = await world.publish({
      name: 'Waiters',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      goal: { event: 'Purchased' },
      start: 'later',
      steps: [
        { id: 'later', type: 'wait', duration: '1h', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([track('a', 'Signed Up'), track('b', 'Signed Up')]);
    await world.settle();
    world.clock.advance(HOUR + 1000);
    const [first, second] = await world.storage.journeys.listActiveInstanceIds(journeyId);
    const held = second as string;
    const opening = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      return { opened, open };
    };
    const batchLocked = opening();
    const timersClaimed = opening();
    // An event batch handling a goal: it locks the instance, then clears its timers.
    const eventBatch = world.storage.transaction(async (tx) => {
      await tx.profiles.holdOffMerges();
      await tx.journeys.lockInstance(held);
      batchLocked.open();
      await timersClaimed.opened;
      await tx.journeys.clearTimers(held);
    });
    await batchLocked.opened;
    // The timers, meanwhile (another process): the held instance's timer is passed over.
    const timerRun = world.storage.transaction(async (tx) => {
      await tx.profiles.holdOffMerges();
      const timers = await tx.journeys.claimDueTimers(world.clock.now(), 500);
      timersClaimed.open();
      expect(timers.map((timer) => timer.instanceId)).toEqual([first]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const timer of timers) await tx.journeys.lockInstance(timer.instanceId);
    });
    const outcomes = await Promise.allSettled([timerRun, eventBatch]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
  });
});
